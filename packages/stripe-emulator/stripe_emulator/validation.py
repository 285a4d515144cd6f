"""Refusing what Stripe refuses: request params and API versions, checked before a handler runs.

The `stripe` SDK is generated from Stripe's OpenAPI spec. Every service method names the path
it calls and the TypedDict of its params (`SubscriptionService.create` posts to
`/v1/subscriptions` with `SubscriptionCreateParams`), so the installed SDK tells us, for each
route, which parameters Stripe knows and what type each one has. The table is read from the
services' source, because the params classes are imported there for type checkers only; a
hand-written list would drift from the SDK the app is typed against.
"""

from __future__ import annotations

import ast
import datetime
import functools
import importlib
import re
import sys
import types
import typing
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import stripe
from stripe._request_options import RequestOptions
from stripe._stripe_context import StripeContext
from stripe._stripe_object import UntypedStripeObject
from typing_extensions import is_typeddict

from .errors import StripeError, empty, missing, unknown
from .params import Params

Route = tuple[str, str]  # ("POST", "/v1/subscriptions/{subscription_exposed_id}")

# Mixed into every top-level params class, but the SDK sends them as headers: on the wire
# they are unknown parameters.
_OPTIONS = frozenset(RequestOptions.__annotations__)
# RequestOptions' hints name types its module imports for type checkers only.
_HINT_NAMES = {**vars(sys.modules[RequestOptions.__module__]), "StripeContext": StripeContext}
# Stripe's first API version; versions are dates, named since 2024-09-30.acacia.
_FIRST_VERSION = datetime.date(2011, 1, 1)
_VERSION = re.compile(r"(\d{4}-\d{2}-\d{2})(?:\.([a-z]+))?")


# --- which params class a route takes -------------------------------------------------------


@functools.cache
def sdk_routes() -> dict[Route, tuple[str, str]]:
    """(method, path template) -> (params module, params class) for every /v1 service method."""
    routes: dict[Route, tuple[str, str]] = {}
    for source in sorted(Path(stripe.__file__).parent.rglob("*_service.py")):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        imported = _params_imports(tree)
        for method in _sync_methods(tree):
            route, name = _request_of(method), _params_annotation(method)
            if route and route[1].startswith("/v1/") and name in imported:
                routes.setdefault(route, (imported[name], name))
    return routes


def _params_imports(tree: ast.Module) -> dict[str, str]:
    """Class name -> module, for the params classes a service module imports."""
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("stripe.params")
        ):
            found.update((alias.asname or alias.name, node.module) for alias in node.names)
    return found


def _sync_methods(tree: ast.Module) -> Iterator[ast.FunctionDef]:
    """Service methods; each `x_async` twin makes the same request."""
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            yield from (fn for fn in node.body if isinstance(fn, ast.FunctionDef))


def _request_of(method: ast.FunctionDef) -> Route | None:
    """`self._request("post", "/v1/x/{id}".format(...), ...)` -> ("POST", "/v1/x/{id}")."""
    for node in ast.walk(method):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "_request"
            and len(node.args) >= 2
        ):
            continue
        verb, path = node.args[:2]
        if isinstance(path, ast.Call) and isinstance(path.func, ast.Attribute):
            path = path.func.value  # the template of "...".format(...)
        if isinstance(verb, ast.Constant) and isinstance(path, ast.Constant):
            return str(verb.value).upper(), str(path.value)
    return None


def _params_annotation(method: ast.FunctionDef) -> str | None:
    """`params: Optional["XParams"] = None` (or `params: "XParams"`) -> "XParams"."""
    arguments = method.args
    for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
        if arg.arg != "params":
            continue
        annotation = arg.annotation
        if isinstance(annotation, ast.Subscript):
            annotation = annotation.slice
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            return annotation.value
    return None


def _matches(template: str, path: str) -> bool:
    want, got = template.split("/"), path.split("/")
    return len(want) == len(got) and all(
        w == g or (w.startswith("{") and g != "") for w, g in zip(want, got, strict=True)
    )


def params_class(method: str, path: str) -> type | None:
    """The SDK's params TypedDict for a request; like the router, literal segments win
    (`/v1/invoices/create_preview` over `/v1/invoices/{invoice}`)."""
    found = [
        (template.count("{"), where)
        for (verb, template), where in sdk_routes().items()
        if verb == method and _matches(template, path)
    ]
    if not found:
        return None
    module, name = min(found)[1]
    cls: type = getattr(importlib.import_module(module), name)
    return cls


# --- the checks ------------------------------------------------------------------------------


def check_version(version: str) -> None:
    """Stripe answers 400 to a `Stripe-Version` it never released; the SDK pins the newest."""
    pinned = _VERSION.fullmatch(stripe.api_version)
    asked = _VERSION.fullmatch(version)
    if pinned and asked and _released(asked, pinned):
        return
    raise StripeError(400, f"Invalid Stripe API version: {version}")


def _released(asked: re.Match[str], pinned: re.Match[str]) -> bool:
    try:
        day = datetime.date.fromisoformat(asked[1])
    except ValueError:
        return False
    newest = datetime.date.fromisoformat(pinned[1])
    if day == newest:  # the pinned version is the only one released that day
        return asked[2] in (None, pinned[2])
    return _FIRST_VERSION <= day < newest


def validate(method: str, path: str, params: Params) -> None:
    """Raise Stripe's 400 for params the route's SDK class doesn't allow. Routes the SDK has
    no class for are not checked (tests make sure every emulated /v1 route has one)."""
    cls = params_class(method, path)
    if cls is not None:
        # `expand` is accepted everywhere, even where a class leaves it out.
        _check_hash(cls, {k: v for k, v in params.items() if k != "expand"}, "")


@functools.cache
def _fields(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls, localns=_HINT_NAMES, include_extras=True)
    top_level = _OPTIONS <= hints.keys()
    return {k: _bare(v) for k, v in hints.items() if not (top_level and k in _OPTIONS)}


def _bare(tp: Any) -> Any:
    """`NotRequired[X]` / `Required[X]` / `Annotated[X, ...]` -> X."""
    while get_origin(tp) in (typing.NotRequired, typing.Required, typing.Annotated):
        tp = get_args(tp)[0]
    return tp


def _name(prefix: str, key: object) -> str:
    return f"{prefix}[{key}]" if prefix else str(key)


def _check_hash(cls: type, value: dict[str, Any], prefix: str) -> None:
    fields = _fields(cls)
    for key, item in value.items():
        if key not in fields:
            raise unknown(_name(prefix, key))
        _check(fields[key], item, _name(prefix, key))
    required: frozenset[str] = getattr(cls, "__required_keys__", frozenset())
    for key in sorted(required - value.keys()):
        raise missing(_name(prefix, key))


def _check(tp: Any, value: Any, name: str) -> None:
    enum, kinds = _alternatives(tp)
    if any(_unmodelled(kind) for kind in kinds):
        return  # e.g. `Any`: nothing to hold the value to
    if value == "":
        if "" not in enum and str not in kinds:  # "" unsets; only some params can be unset
            raise empty(name)
    elif isinstance(value, dict | list):
        _check_nested(enum, kinds, value, name)
    elif value not in enum:
        _check_scalar(enum, kinds, value, name)


def _alternatives(tp: Any) -> tuple[list[Any], list[Any]]:
    """A type as (allowed literal values, other types), unions flattened. The SDK types open
    enums as `Literal[...] | str` so new values won't break type checks; the values it
    lists are what Stripe knows at its pinned version, so the `str` is dropped."""
    members = get_args(tp) if get_origin(tp) in (Union, types.UnionType) else (tp,)
    enum = [v for m in members if get_origin(m) is Literal for v in get_args(m)]
    kinds = [m for m in members if get_origin(m) is not Literal]
    if any(v != "" for v in enum):
        kinds = [k for k in kinds if k is not str]
    return enum, kinds


def _check_nested(
    enum: list[Any], kinds: list[Any], value: dict[str, Any] | list[Any], name: str
) -> None:
    """A hash or an array, checked against the member of the type that takes one."""
    for kind in kinds:
        if is_typeddict(kind):
            if isinstance(value, list):  # `x[0][...]` where a hash is expected
                raise unknown(f"{name}[0]")
            return _check_hash(kind, value, name)
        if _is_map(kind):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if item != "":  # an empty value unsets that key (metadata[key]=)
                    _check(get_args(kind)[-1], item, f"{name}[{key}]")
            return None
        if get_origin(kind) is list and isinstance(value, list):
            for index, item in enumerate(value):
                _check(get_args(kind)[0], item, f"{name}[{index}]")
            return None
    raise _refusal(enum, kinds, value, name)


def _check_scalar(enum: list[Any], kinds: list[Any], value: str, name: str) -> None:
    if not any(kind in _SCALARS and _SCALARS[kind][0](value) for kind in kinds):
        raise _refusal(enum, kinds, value, name)


def _refusal(enum: list[Any], kinds: list[Any], value: Any, name: str) -> StripeError:
    """Stripe's answer to a value none of the type's members takes."""
    for kind in kinds:
        if kind in _SCALARS:
            return _SCALARS[kind][1](value, name)
    if any(get_origin(kind) is list for kind in kinds):
        return StripeError(400, "Invalid array", param=name)
    if kinds:
        return StripeError(400, "Invalid hash", param=name)
    return StripeError(400, f"Invalid {name}: must be one of {_one_of(enum)}", param=name)


def _is_map(kind: Any) -> bool:
    """`Dict[str, X]`, or `UntypedStripeObject[X]` (a StripeObject passed back as a map)."""
    return get_origin(kind) in (dict, UntypedStripeObject)


def _unmodelled(kind: Any) -> bool:
    return not (kind in _SCALARS or is_typeddict(kind) or _is_map(kind) or get_origin(kind) is list)


def _one_of(values: list[Any]) -> str:
    """Stripe's wording: "a, b, or c"."""
    shown = [str(v) for v in values if v != ""]
    return ", ".join(shown[:-1]) + ", or " + shown[-1] if len(shown) > 1 else "".join(shown)


def _is_int(text: str) -> bool:
    return re.fullmatch(r"-?\d+", text) is not None


def _is_decimal(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False


def _bad_int(value: Any, name: str) -> StripeError:
    return StripeError(
        400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=name
    )


def _bad(label: str) -> Callable[[Any, str], StripeError]:
    def error(value: Any, name: str) -> StripeError:
        return StripeError(400, f"Invalid {label}: {value}", param=name)

    return error


# Scalar types: (does the form-encoded text fit?, Stripe's error when it doesn't).
_SCALARS: dict[Any, tuple[Callable[[str], bool], Callable[[Any, str], StripeError]]] = {
    str: (lambda text: True, _bad("string")),
    int: (_is_int, _bad_int),
    float: (_is_decimal, _bad("decimal")),
    Decimal: (_is_decimal, _bad("decimal")),
    bool: (lambda text: text in ("true", "false"), _bad("boolean")),
}
