"""The route table: resource modules register `(method, path pattern) -> handler`."""

from __future__ import annotations

import re
from collections.abc import Callable

from .store import Obj

Handler = Callable[..., Obj]
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """`@route("GET", "/v1/customers/{id}")`: path segments in braces become handler args."""
    regex = re.compile("^" + re.sub(r"\{\w+\}", r"([^/]+)", pattern) + "$")

    def register(func: Handler) -> Handler:
        ROUTES.append((method, regex, func))
        return func

    return register


def resolve(method: str, path: str) -> tuple[Handler, tuple[str, ...]] | None:
    # Literal routes (e.g. /v1/invoices/create_preview) win over /v1/invoices/{id}.
    matches = [
        (m.groups(), func)
        for meth, regex, func in ROUTES
        if meth == method and (m := regex.match(path))
    ]
    if not matches:
        return None
    groups, func = min(matches, key=lambda gm: len(gm[0]))
    return func, groups
