"""The emulator's state: every object by id, events, idempotency cache, optional JSON file."""

from __future__ import annotations

import copy
import json
import os
import secrets
import string
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import stripe

from .errors import no_such
from .fixtures import shape
from .params import Params, as_list, to_int

Obj = dict[str, Any]
_ALPHABET = string.ascii_letters + string.digits
DEFAULT_API_VERSION: str = stripe.api_version


def plan_of(price: Obj) -> Obj:
    """The legacy `plan` view of a recurring price, still present on subscription items."""
    plan, rec = shape("plan"), price.get("recurring") or {}
    plan.update(
        id=price["id"],
        active=price["active"],
        amount=price["unit_amount"],
        amount_decimal=price["unit_amount_decimal"],
        billing_scheme=price["billing_scheme"],
        created=price["created"],
        currency=price["currency"],
        livemode=False,
        interval=rec.get("interval"),
        interval_count=rec.get("interval_count"),
        metadata=price["metadata"],
        meter=rec.get("meter"),
        nickname=price["nickname"],
        product=price["product"],
        tiers_mode=None,
        transform_usage=None,
        trial_period_days=rec.get("trial_period_days"),
        usage_type=rec.get("usage_type"),
    )
    return plan


@dataclass
class Config:
    """Knobs for tests and CI; Stripe's equivalents live in the Dashboard."""

    retry_schedule_days: list[int] = field(default_factory=lambda: [3, 5, 7])
    dunning_final_action: str = "canceled"  # or "unpaid", after the last failed retry
    trial_will_end_days: int = 3
    upcoming_days: int = 7
    incomplete_expiry_seconds: int = 23 * 3600


class Store:
    """One lock guards everything; handlers run with it held (see app.py)."""

    def __init__(self, state_file: str | os.PathLike[str] | None = None) -> None:
        self.lock = threading.RLock()
        self.state_file = Path(state_file) if state_file else None
        self.config = Config()
        self._local = threading.local()  # per request thread: the address clients reach us at
        self.api_version = DEFAULT_API_VERSION
        self.request: Obj = {"id": None, "idempotency_key": None}
        self.outbox: list[Obj] = []  # events of the current request, sent once it succeeds
        self.clear()
        if self.state_file and self.state_file.exists():
            self.load()

    @property
    def base_url(self) -> str:
        return str(getattr(self._local, "base_url", ""))

    @base_url.setter
    def base_url(self, value: str) -> None:
        self._local.base_url = value

    def clear(self) -> None:
        self.objects: dict[str, Obj] = {}
        self.events: dict[str, Obj] = {}  # apart from objects: append-only, never rolled back
        # Bookkeeping that must never appear in API responses (flags, secrets), by object id.
        self.internal: dict[str, Obj] = {}
        self.usage: list[Obj] = []  # billing meter events
        self.idempotency: dict[str, Obj] = {}

    # --- ids, lookup -------------------------------------------------------------------
    @staticmethod
    def new_id(prefix: str, length: int = 14) -> str:
        return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))

    def put(self, obj: Obj) -> Obj:
        (self.events if obj["object"] == "event" else self.objects)[obj["id"]] = obj
        return obj

    def find(self, obj_id: Any, kind: str | None = None) -> Obj | None:
        if not isinstance(obj_id, str):
            return None
        obj = self.objects.get(obj_id) or self.events.get(obj_id)
        if obj is None or (kind and obj.get("object") != kind):
            return None
        return obj

    def get(self, obj_id: Any, kind: str, param: str | None = None) -> Obj:
        """The stored object, or Stripe's resource_missing (404 for path ids, else 400)."""
        obj = self.find(obj_id, kind)
        if obj is None:
            raise no_such(kind, str(obj_id), param)
        return obj

    def all(self, kind: str, **match: Any) -> list[Obj]:
        """Objects of a kind, oldest first, whose fields equal `match`."""
        table = self.events if kind == "event" else self.objects
        return [
            o
            for o in table.values()
            if o.get("object") == kind and all(o.get(k) == v for k, v in match.items())
        ]

    def internal_of(self, obj_id: str) -> Obj:
        return self.internal.setdefault(obj_id, {})

    # --- time ----------------------------------------------------------------------------
    def now(self, clock_id: str | None = None) -> int:
        """Objects attached to a test clock live at the clock's frozen time."""
        clock = self.find(clock_id, "test_helpers.test_clock") if clock_id else None
        return int(clock["frozen_time"]) if clock else int(time.time())

    def customer_now(self, customer_id: str | None) -> int:
        customer = self.find(customer_id, "customer")
        return self.now(customer.get("test_clock") if customer else None)

    # --- rendering -----------------------------------------------------------------------
    def render(self, obj: Obj) -> Obj:
        """A response copy; embedded prices are refreshed since prices can change."""
        out = copy.deepcopy(obj)
        kind = out.get("object")
        items = (
            out["items"]["data"]
            if kind == "subscription"
            else [out]
            if kind == "subscription_item"
            else []
        )
        for item in items:
            price = self.find(item["price"]["id"], "price")
            if price:
                item["price"], item["plan"] = copy.deepcopy(price), plan_of(price)
        return out

    def expand(self, obj: Any, path: str) -> Any:
        """Replace the id at a dotted path (`items.data.price.product`) by its object."""
        head, _, rest = path.partition(".")
        if isinstance(obj, list):
            return [self.expand(o, path) for o in obj]
        if not isinstance(obj, dict) or head not in obj:
            return obj
        value = obj[head]
        if isinstance(value, str) and self.find(value):
            value = self.render(self.find(value) or {})
        obj[head] = self.expand(value, rest) if rest else value
        return obj

    def paginate(self, objs: Iterable[Obj], p: Params, url: str) -> Obj:
        """Stripe list: newest first, `limit`, `starting_after`, `ending_before`, `has_more`."""
        items = list(reversed(list(objs)))
        limit = max(1, min(100, to_int(p, "limit", 10) or 10))
        ids = [o["id"] for o in items]
        if p.get("starting_after"):
            start = self._cursor(ids, p["starting_after"], "starting_after") + 1
            page, has_more = items[start : start + limit], len(items) > start + limit
        elif p.get("ending_before"):
            end = self._cursor(ids, p["ending_before"], "ending_before")
            page, has_more = items[max(0, end - limit) : end], end - limit > 0
        else:
            page, has_more = items[:limit], len(items) > limit
        data = [self.render(o) for o in page]
        for path in as_list(p, "expand"):
            if path.startswith("data."):
                self.expand(data, path[5:])
        return {"object": "list", "data": data, "has_more": has_more, "url": url}

    def _cursor(self, ids: list[str], obj_id: str, param: str) -> int:
        if obj_id not in ids:
            raise no_such("object", obj_id, param)
        return ids.index(obj_id)

    # --- events --------------------------------------------------------------------------
    def emit(self, type_: str, obj: Obj, previous: Obj | None = None) -> Obj:
        event = shape("event")
        data: Obj = {"object": self.render(obj)}
        if previous:
            data["previous_attributes"] = previous
        event.update(
            id=self.new_id("evt", 24),
            type=type_,
            created=int(time.time()),
            data=data,
            api_version=self.api_version,
            livemode=False,
            pending_webhooks=0,
            request=dict(self.request),
        )
        self.put(event)
        self.outbox.append(event)
        return event

    def changed(self, obj: Obj, before: Obj, type_: str) -> Obj | None:
        """Emit `type_` with `previous_attributes` = top-level fields that differ from before."""
        now = self.render(obj)
        previous = {k: v for k, v in before.items() if now.get(k) != v}
        return self.emit(type_, obj, previous) if previous else None

    # --- persistence, rollback -----------------------------------------------------------
    def snapshot(self) -> str:
        return json.dumps([self.objects, self.internal, self.usage])

    def rollback(self, snapshot: str) -> None:
        """Undo a failed request (Stripe requests are atomic), events included."""
        self.objects, self.internal, self.usage = json.loads(snapshot)
        for event in self.outbox:
            self.events.pop(event["id"], None)
        self.outbox.clear()

    def save(self) -> None:
        if not self.state_file:
            return
        state = {
            "objects": self.objects,
            "events": self.events,
            "internal": self.internal,
            "usage": self.usage,
            "idempotency": self.idempotency,
            "config": asdict(self.config),
        }
        tmp = self.state_file.with_suffix(self.state_file.suffix + ".tmp")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, self.state_file)  # atomic: a crash never leaves half a file

    def load(self) -> None:
        assert self.state_file is not None  # noqa: S101 - only called when set
        state = json.loads(self.state_file.read_text(encoding="utf-8"))
        self.objects, self.events = state["objects"], state["events"]
        self.internal = state["internal"]
        self.usage, self.idempotency = state["usage"], state["idempotency"]
        self.config = Config(**state.get("config", {}))
