"""Stripe's own example objects, the template every emulated object is built from.

Objects are never written from memory: each one starts as a deep copy of Stripe's fixture
for its type (so it has every key the current API version returns) and the emulator then
overwrites the fields it knows about.

The examples come from `shapes.json` beside this module (a trimmed copy of Stripe's
fixtures3.json, its licence and source inside), the same on every machine. The full file is
only a reference `tests/stripe_emulator/test_shapes.py` compares the copy with when present.
"""

from __future__ import annotations

import copy
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

VENDORED = Path(__file__).with_name("shapes.json")


def locate_fixtures() -> Path | None:
    """The full fixtures3.json, if at hand: $STRIPE_FIXTURES_PATH, else shared/stripe/ beside
    or above the checkout. Never needed: only a reference for the vendored copy."""
    env = os.environ.get("STRIPE_FIXTURES_PATH")
    if env and Path(env).is_file():
        return Path(env)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "stripe" / "fixtures3.json"
        if candidate.is_file():
            return candidate
    return None


@cache
def _resources() -> dict[str, Any]:
    with VENDORED.open(encoding="utf-8") as fh:
        resources: dict[str, Any] = json.load(fh)["resources"]
    return resources


def shape(kind: str) -> dict[str, Any]:
    """A fresh, mutable copy of Stripe's example object of `kind` (e.g. "subscription")."""
    return copy.deepcopy(_resources()[kind])


def build(
    kind: str, *, nulls: str = "", zeros: str = "", empty: str = "", **fields: Any
) -> dict[str, Any]:
    """Stripe's example `kind` with placeholder values reset: `nulls`/`zeros`/`empty` name
    (space-separated) fields set to None / 0 / []; then `fields` are set. Test mode, no
    metadata, as a new object would be."""
    obj = shape(kind)
    for key in ("livemode", "metadata"):
        if key in obj:
            obj[key] = False if key == "livemode" else {}
    obj.update(dict.fromkeys(nulls.split()))
    obj.update(dict.fromkeys(zeros.split(), 0))
    obj.update({name: [] for name in empty.split()})
    obj.update(fields)
    return obj
