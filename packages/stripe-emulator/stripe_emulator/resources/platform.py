"""Events, webhook endpoints, test clocks and billing meters."""

from __future__ import annotations

import secrets

from ..errors import invalid, missing
from ..fixtures import shape
from ..params import Params, apply_metadata, as_list, nested, req, set_fields, to_bool, to_int
from ..routing import route
from ..store import Obj, Store
from . import clock as clock_engine

# --- events --------------------------------------------------------------------------------


def _type_matches(pattern: str, type_: str) -> bool:
    return pattern == type_ or (pattern.endswith(".*") and type_.startswith(pattern[:-1]))


def _created_ok(created: int, cond: object) -> bool:
    if isinstance(cond, dict):
        ops = {"gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__}
        return all(ops[op](created, int(v)) for op, v in cond.items() if op in ops)
    return cond in (None, "") or created == int(str(cond))


@route("GET", "/v1/events")
def list_events(st: Store, p: Params) -> Obj:
    events = st.all("event")
    if p.get("type"):
        events = [e for e in events if _type_matches(p["type"], e["type"])]
    if as_list(p, "types"):
        events = [
            e for e in events if any(_type_matches(t, e["type"]) for t in as_list(p, "types"))
        ]
    events = [e for e in events if _created_ok(e["created"], p.get("created"))]
    if p.get("delivery_success") not in (None, ""):
        # Stripe: false = still pending or failed at some endpoint.
        ok = to_bool(p, "delivery_success")
        events = [e for e in events if (e["pending_webhooks"] == 0) == ok]
    return st.paginate(events, p, "/v1/events")


@route("GET", "/v1/events/{id}")
def get_event(st: Store, p: Params, evt_id: str) -> Obj:
    return st.get(evt_id, "event")


# --- webhook endpoints ---------------------------------------------------------------------


@route("POST", "/v1/webhook_endpoints")
def create_endpoint(st: Store, p: Params) -> Obj:
    return register_endpoint(st, p)


def register_endpoint(st: Store, p: Params, secret: str | None = None) -> Obj:
    """Create an endpoint; `secret` lets the server pin one given on its command line."""
    events = as_list(p, "enabled_events")
    if not events:
        raise missing("enabled_events")
    we = shape("webhook_endpoint")
    we.update(
        id=st.new_id("we", 24),
        url=req(p, "url"),
        enabled_events=events,
        created=st.now(),
        description=p.get("description") or None,
        metadata={},
        api_version=p.get("api_version") or None,
        application=None,
        livemode=False,
        status="enabled",
    )
    apply_metadata(we, p)
    secret = secret or "whsec_" + secrets.token_hex(24)
    st.internal_of(we["id"])["secret"] = secret
    st.put(we)
    return {**st.render(we), "secret": secret}  # shown once, as on Stripe


@route("GET", "/v1/webhook_endpoints/{id}")
def get_endpoint(st: Store, p: Params, we_id: str) -> Obj:
    return st.get(we_id, "webhook_endpoint")


@route("POST", "/v1/webhook_endpoints/{id}")
def update_endpoint(st: Store, p: Params, we_id: str) -> Obj:
    we = st.get(we_id, "webhook_endpoint")
    set_fields(we, p, "url", "description")
    if as_list(p, "enabled_events"):
        we["enabled_events"] = as_list(p, "enabled_events")
    if p.get("disabled") not in (None, ""):
        we["status"] = "disabled" if to_bool(p, "disabled") else "enabled"
    apply_metadata(we, p)
    return we


@route("DELETE", "/v1/webhook_endpoints/{id}")
def delete_endpoint(st: Store, p: Params, we_id: str) -> Obj:
    st.get(we_id, "webhook_endpoint")
    del st.objects[we_id]
    return {**shape("deleted_webhook_endpoint"), "id": we_id}


@route("GET", "/v1/webhook_endpoints")
def list_endpoints(st: Store, p: Params) -> Obj:
    return st.paginate(st.all("webhook_endpoint"), p, "/v1/webhook_endpoints")


# --- test clocks ---------------------------------------------------------------------------
CLOCK = "test_helpers.test_clock"


@route("POST", "/v1/test_helpers/test_clocks")
def create_clock(st: Store, p: Params) -> Obj:
    frozen = to_int(p, "frozen_time")
    if frozen is None:
        req(p, "frozen_time")
    clock = shape(CLOCK)
    clock.update(
        id=st.new_id("clock", 24),
        created=st.now(),
        frozen_time=frozen,
        deletes_after=int(frozen or 0) + 30 * 86400,
        livemode=False,
        name=p.get("name") or None,
        status="ready",
        status_details={},
    )
    st.put(clock)
    st.emit("test_helpers.test_clock.created", clock)
    return clock


@route("GET", "/v1/test_helpers/test_clocks/{id}")
def get_clock(st: Store, p: Params, clock_id: str) -> Obj:
    return st.get(clock_id, CLOCK)


@route("GET", "/v1/test_helpers/test_clocks")
def list_clocks(st: Store, p: Params) -> Obj:
    return st.paginate(st.all(CLOCK), p, "/v1/test_helpers/test_clocks")


@route("POST", "/v1/test_helpers/test_clocks/{id}/advance")
def advance_clock(st: Store, p: Params, clock_id: str) -> Obj:
    clock = st.get(clock_id, CLOCK)
    target = to_int(p, "frozen_time")
    if target is None:
        req(p, "frozen_time")
    return clock_engine.advance(st, clock, int(target or 0))


@route("DELETE", "/v1/test_helpers/test_clocks/{id}")
def delete_clock(st: Store, p: Params, clock_id: str) -> Obj:
    """Like Stripe, deleting a clock deletes the customers on it and what they own."""
    clock = st.get(clock_id, CLOCK)
    customers = {c["id"] for c in st.all("customer", test_clock=clock_id)}
    for obj_id, obj in list(st.objects.items()):
        if obj_id in customers or (
            obj.get("object") != "event" and obj.get("customer") in customers
        ):
            del st.objects[obj_id]
    del st.objects[clock_id]
    st.emit("test_helpers.test_clock.deleted", clock)
    return {**shape("deleted_test_helpers.test_clock"), "id": clock_id}


# --- billing meters ------------------------------------------------------------------------


@route("POST", "/v1/billing/meters")
def create_meter(st: Store, p: Params) -> Obj:
    formula = nested(p, "default_aggregation").get("formula")
    if formula not in ("sum", "count", "last"):
        raise invalid("default_aggregation[formula]")
    meter = shape("billing.meter")
    now = st.now()
    mapping = nested(p, "customer_mapping")
    values = nested(p, "value_settings")
    meter.update(
        id=st.new_id("mtr_test", 24),
        created=now,
        updated=now,
        livemode=False,
        display_name=req(p, "display_name"),
        event_name=req(p, "event_name"),
        event_time_window=p.get("event_time_window") or None,
        status="active",
        default_aggregation={"formula": formula},
        customer_mapping={
            "type": "by_id",
            "event_payload_key": mapping.get("event_payload_key", "stripe_customer_id"),
        },
        value_settings={"event_payload_key": values.get("event_payload_key", "value")},
        status_transitions={"deactivated_at": None},
    )
    if st.all("billing.meter", event_name=meter["event_name"], status="active"):
        raise invalid("event_name", "An active meter already uses this event_name.")
    return st.put(meter)


@route("GET", "/v1/billing/meters/{id}")
def get_meter(st: Store, p: Params, meter_id: str) -> Obj:
    return st.get(meter_id, "billing.meter")


@route("POST", "/v1/billing/meters/{id}")
def update_meter(st: Store, p: Params, meter_id: str) -> Obj:
    meter = st.get(meter_id, "billing.meter")
    set_fields(meter, p, "display_name")
    return meter


@route("GET", "/v1/billing/meters")
def list_meters(st: Store, p: Params) -> Obj:
    return st.paginate(
        st.all("billing.meter", **({"status": p["status"]} if p.get("status") else {})),
        p,
        "/v1/billing/meters",
    )


@route("POST", "/v1/billing/meters/{id}/deactivate")
def deactivate_meter(st: Store, p: Params, meter_id: str) -> Obj:
    meter = st.get(meter_id, "billing.meter")
    meter.update(status="inactive", updated=st.now())
    meter["status_transitions"]["deactivated_at"] = meter["updated"]
    return meter


@route("POST", "/v1/billing/meter_events")
def create_meter_event(st: Store, p: Params) -> Obj:
    name, payload = req(p, "event_name"), req(p, "payload")
    meters = st.all("billing.meter", event_name=name, status="active")
    if not isinstance(payload, dict) or not meters:
        raise invalid(
            "event_name" if not meters else "payload",
            f"No active meter for event_name '{name}'." if not meters else None,
        )
    customer = payload.get(meters[0]["customer_mapping"]["event_payload_key"])
    st.get(customer, "customer", "payload")
    identifier = p.get("identifier") or st.new_id("mev", 20)
    if any(ev["identifier"] == identifier for ev in st.usage):
        raise invalid("identifier", f"A meter event with identifier {identifier} exists.")
    event = shape("billing.meter_event")
    event.update(
        event_name=name,
        payload=payload,
        identifier=identifier,
        livemode=False,
        created=st.customer_now(customer),
        timestamp=to_int(p, "timestamp") or st.customer_now(customer),
    )
    st.usage.append(event)
    return event
