"""Stripe webhooks in tests: Stripe events as the emulator made them or built from Stripe's own
fixtures3.json shapes (the copy vendored in
packages/stripe-emulator/stripe_emulator/shapes.json), signed with Stripe's scheme, posted to
the real endpoint."""

import time
from typing import Any

import requests
from django.conf import settings

from stripe_emulator.fixtures import shape
from stripe_emulator.webhooks import sign

SECRET = "whsec_test_current"
OLD_SECRET = "whsec_test_previous"
URL = "/api/v1/billing/stripe/webhook/"


def fixture_object(resource: str, **fields: Any) -> dict[str, Any]:
    """A copy of Stripe's example `resource` with `fields` set (values, never new keys)."""
    obj = shape(resource)
    unknown = set(fields) - set(obj)
    assert not unknown, f"{resource} has no {unknown}"
    obj.update(fields)
    return obj


_serial = iter(range(10**9))


def fixture_event(type_: str, obj: dict[str, Any], *, created: int | None = None) -> dict:
    """An event in Stripe's `event` shape around `obj`."""
    return fixture_object(
        "event",
        id=f"evt_test_{int(time.time() * 1000)}_{next(_serial)}",
        type=type_,
        created=created if created is not None else int(time.time()),
        data={"object": obj},
    )


def emulator_events(type_: str) -> list[dict[str, Any]]:
    """The emulator's own events of `type_`, oldest first (ties: in the order made)."""
    response = requests.get(
        f"{settings.STRIPE_API_BASE}/v1/events",
        params={"type": type_, "limit": "100"},
        headers={"Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    newest_first = response.json()["data"]
    return sorted(reversed(newest_first), key=lambda e: e["created"])


def emulator_event(type_: str) -> dict[str, Any]:
    events = emulator_events(type_)
    assert events, f"the emulator sent no {type_}"
    return events[-1]


def signed(body: str, *, secret: str = SECRET, timestamp: int | None = None) -> str:
    return sign(body, secret, timestamp)
