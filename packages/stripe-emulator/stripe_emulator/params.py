"""Decoding Stripe's form encoding (`items[0][price]=x`, `expand[]=y`) and reading params."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from .errors import invalid, missing

Params = dict[str, Any]
_PART = re.compile(r"\[([^\]]*)\]")
# Maps whose keys are user data: numeric keys there must not turn the map into a list.
_FREE_MAPS = {"metadata", "payload"}


def decode(raw: str) -> Params:
    """`a[b][0][c]=1&a[b][]=2` -> nested dicts, with digit-keyed / `[]` maps turned into lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        head = key.split("[", 1)[0]
        parts = [head, *_PART.findall(key[len(head) :])]
        node = root
        for part in parts[:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):  # a scalar then a nested key: the nested one wins
                nxt = node[part] = {}
            node = nxt
        last = parts[-1] if parts[-1] != "" else str(len(node))
        node[last] = value
    result: Params = _listify(root, "")
    return result


def _listify(node: Any, key: str) -> Any:
    if not isinstance(node, dict):
        return node
    items = {k: _listify(v, k) for k, v in node.items()}
    if key not in _FREE_MAPS and items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


def req(p: Params, name: str) -> Any:
    value = p.get(name)
    if value is None or value == "":
        raise missing(name)
    return value


def to_int(
    p: Params, name: str, default: int | None = None, *, label: str | None = None
) -> int | None:
    value = p.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(label or name, f"Invalid integer: {value}") from None


def to_bool(p: Params, name: str, default: bool | None = None) -> bool | None:
    value = p.get(name)
    if value is None or value == "":
        return default
    if value in ("true", True):
        return True
    if value in ("false", False):
        return False
    raise invalid(name, f"Invalid boolean: {value}")


def as_list(p: Params, name: str) -> list[Any]:
    value = p.get(name)
    if value in (None, ""):
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):  # sparse indices, e.g. items[3][price] alone
        return list(value.values())
    return [value]


def apply_metadata(obj: dict[str, Any], p: Params) -> None:
    """Stripe semantics: merge keys, an empty value unsets a key, `metadata=""` clears all."""
    if "metadata" not in p:
        return
    update = p["metadata"]
    if update == "":
        obj["metadata"] = {}
        return
    if not isinstance(update, dict):
        raise invalid("metadata")
    merged = dict(obj.get("metadata") or {})
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    obj["metadata"] = merged


def set_fields(obj: dict[str, Any], p: Params, *names: str) -> None:
    """Copy plain string fields; an empty string means null, as in Stripe's API."""
    for name in names:
        if name in p:
            obj[name] = p[name] if p[name] != "" else None


def nested(p: Params, name: str) -> Params:
    """A hash parameter (`recurring[interval]=...`), or {} when absent or not a hash."""
    value = p.get(name)
    return value if isinstance(value, dict) else {}
