"""The one seam to Stripe: the only module that imports `stripe`.

It pins the API version, sends an idempotency key with every create and update, turns Stripe
errors into billing errors and returns plain dataclasses, so no Stripe object or exception
reaches the rest of the code. With STRIPE_API_BASE set (the offline emulator) only the base
address changes; the calls are the ones real Stripe gets.

Stripe's answers are checked before anything of them is used: an answer of another shape (a
missing or mistyped field, an id that is not one, a list that is not a list, a page URL that
is not an http(s) address) is the provider's failure, 502 `payment_provider_error` like any
other, and nothing of it is stored or handed on.
"""

import contextlib
import functools
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

import stripe
import urllib3
from django.conf import settings

from .errors import (
    InvalidBillingRequest,
    PaymentDeclined,
    PaymentProviderError,
    PaymentProviderUnavailable,
    WebhookSignatureInvalid,
)

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

logger = logging.getLogger("billing.gateway")


@functools.cache
def _client() -> stripe.StripeClient:
    base = settings.STRIPE_API_BASE
    # Only the base address differs from production (the offline emulator in dev and tests).
    addresses: Any = (
        {"api": base, "files": base, "connect": base, "meter_events": base} if base else {}
    )
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY or "sk_test_unconfigured",
        stripe_version=settings.STRIPE_API_VERSION,
        base_addresses=addresses,
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        http_client=stripe.RequestsClient(
            # One deadline for connecting and for the answer to start, so an attempt never
            # outlasts STRIPE_TIMEOUT_SECONDS (a plain number allows that much for each step).
            # requests passes a urllib3 Timeout through; the SDK's annotation omits it.
            timeout=urllib3.Timeout(total=settings.STRIPE_TIMEOUT_SECONDS),  # type: ignore[arg-type]
        ),
    )


def reset_client() -> None:
    """Forget the configured client (tests that change the Stripe settings)."""
    _client.cache_clear()


def _translating_errors(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        with _translated():
            return fn(*args, **kwargs)

    return call


def _translating_iteration(fn: Callable[P, Iterator[T]]) -> Callable[P, Iterator[T]]:
    """For generators: Stripe is called while the caller iterates (each page), after the
    function itself has returned, so the translation has to wrap the iteration."""

    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        with _translated():
            yield from fn(*args, **kwargs)

    return call


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """Stripe's exceptions as billing errors: nothing outside this module sees a Stripe one."""
    try:
        yield
    except stripe.CardError as exc:
        decline = getattr(exc, "error", None)
        reason = getattr(decline, "decline_code", None) or exc.code or "card_declined"
        raise PaymentDeclined(
            exc.user_message or "The card was declined.", extra={"decline_code": reason}
        ) from exc
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise PaymentProviderUnavailable(
            "The payment provider is unreachable; try again shortly."
        ) from exc
    except stripe.InvalidRequestError as exc:
        stripe_error = getattr(exc, "error", None)
        message = exc.user_message or getattr(stripe_error, "message", None)
        raise InvalidBillingRequest(
            message or "The payment provider refused the request.",
            extra={"param": exc.param} if exc.param else {},
        ) from exc
    except stripe.StripeError as exc:
        raise PaymentProviderError("The payment provider failed.") from exc
    except KeyError as exc:  # a field Stripe always sends is missing from its answer
        logger.exception("Stripe's answer lacks a field")  # or this module reads it wrong
        raise _malformed(f"no {exc.args[0] if exc.args else 'field'}") from exc
    except (IndexError, TypeError, AttributeError, ValueError) as exc:  # of another shape
        # Logged with its traceback: the same exceptions would come from a bug here.
        logger.exception("Stripe's answer has an unexpected shape")
        raise _malformed("an unexpected shape") from exc


def _malformed(what: str) -> PaymentProviderError:
    return PaymentProviderError(f"The payment provider's answer was not understood ({what}).")


def _ts(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _opts(idempotency_key: str) -> Any:
    return {"idempotency_key": idempotency_key}


# ---- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Customer:
    id: str
    email: str | None
    metadata: dict[str, str]


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    metadata: dict[str, str]


@dataclass(frozen=True)
class Price:
    id: str
    product: str
    lookup_key: str | None
    unit_amount: int | None
    currency: str
    interval: str | None
    usage_type: str | None
    active: bool


@dataclass(frozen=True)
class Subscription:
    id: str
    customer: str
    status: str
    item_id: str
    price_id: str
    quantity: int
    current_period_start: datetime | None
    current_period_end: datetime | None
    trial_end: datetime | None
    cancel_at_period_end: bool
    latest_invoice: str | None
    metadata: dict[str, str]
    # The subscription schedule that will change the price at a period end, and that price
    # (from the phase after the current one); None when nothing is scheduled.
    schedule_id: str | None = None
    scheduled_price_id: str | None = None
    clock_time: datetime | None = None  # a test clock's frozen time (test mode only)


@dataclass(frozen=True)
class Schedule:
    id: str
    status: str
    phase_start: int | None  # the current phase's start_date, which an update must keep


@dataclass(frozen=True)
class TestClock:
    id: str
    frozen_time: int
    status: str


@dataclass(frozen=True)
class Invoice:
    id: str
    customer: str
    subscription: str | None
    number: str | None
    status: str
    currency: str
    subtotal: int
    total: int
    amount_due: int
    amount_paid: int
    amount_remaining: int
    period_start: datetime | None
    period_end: datetime | None
    hosted_invoice_url: str | None
    invoice_pdf: str | None
    next_payment_attempt: datetime | None
    created: datetime
    # Stripe's count of automatic payment attempts: one more while still unpaid is a failure.
    attempt_count: int = 0


@dataclass(frozen=True)
class InvoicePreview:
    amount_due: int
    currency: str
    proration_amount: int  # what the change itself costs now (credit negative)
    total: int


@dataclass(frozen=True)
class UpcomingInvoice:
    amount_due: int
    currency: str
    period_end: datetime | None  # when the invoice is issued: the current period's end


@dataclass(frozen=True)
class Session:
    id: str
    url: str


def _plain(obj: Any) -> dict[str, Any]:
    """Stripe objects as plain nested dicts (the SDK's objects are not mappings); anything
    but an object (a list, a string, nothing) is not an answer we understand."""
    if isinstance(obj, stripe.StripeObject):
        return dict(obj.to_dict())
    if isinstance(obj, dict):
        return dict(obj)
    raise _malformed("not an object")


def _id(value: Any) -> str | None:
    """An id, whether Stripe sent the id or the expanded object."""
    if value is None or isinstance(value, str):
        return value
    return str(value["id"])


_STRIPE_ID = re.compile(r"[A-Za-z0-9_]{1,255}")


def _stripe_id(value: Any, prefix: str, what: str) -> str:
    """An id as Stripe writes them for this kind of object (`cus_...`): anything else (a
    number, nothing, another kind's id) is refused before it is stored or acted on."""
    if isinstance(value, str) and value.startswith(prefix) and _STRIPE_ID.fullmatch(value):
        return value
    raise _malformed(f"{what} id")


def _page_url(value: Any, what: str) -> str:
    """The address of a Stripe page we send a person to (Checkout, the billing portal):
    https, with a host (http too when the API itself is a plain-http emulator); never a
    javascript: or data: URL, a relative one or nothing."""
    schemes = ("https", "http") if settings.STRIPE_API_BASE.startswith("http://") else ("https",)
    if isinstance(value, str) and value.isprintable() and " " not in value:
        try:
            parts = urlsplit(value)
            if parts.scheme in schemes and parts.hostname and not parts.username:
                return value
        except ValueError:
            pass
    raise _malformed(f"{what} url")


def _each(page: Any, what: str) -> Iterator[Any]:
    """Every item of a Stripe list, page after page (the SDK's own paging, next_page), each
    page checked to be a list of objects before any of it is used."""
    while True:
        data = getattr(page, "data", None)
        if not isinstance(page, stripe.ListObject) or not isinstance(data, list):
            raise _malformed(f"{what} list")
        if not all(isinstance(item, stripe.StripeObject) for item in data):
            raise _malformed(f"{what} list")
        yield from data
        if not data or not getattr(page, "has_more", False):
            return
        page = page.next_page()


def _customer(obj: Any) -> Customer:
    d = _plain(obj)
    return Customer(
        id=_stripe_id(d.get("id"), "cus_", "customer"),
        email=d.get("email"),
        metadata=d.get("metadata") or {},
    )


def _product(obj: Any) -> Product:
    d = _plain(obj)
    return Product(id=d["id"], name=d["name"], metadata=d.get("metadata") or {})


def _price(obj: Any) -> Price:
    d = _plain(obj)
    recurring = d.get("recurring") or {}
    return Price(
        id=d["id"],
        product=_id(d["product"]) or "",
        lookup_key=d.get("lookup_key"),
        unit_amount=d.get("unit_amount"),
        currency=d["currency"],
        interval=recurring.get("interval"),
        usage_type=recurring.get("usage_type"),
        active=bool(d.get("active")),
    )


def _next_phase_price(schedule: Any) -> str | None:
    """The price of the phase that follows the current one of an expanded schedule."""
    if not isinstance(schedule, dict) or schedule.get("status") not in ("not_started", "active"):
        return None
    current_end = (schedule.get("current_phase") or {}).get("end_date")
    later = [
        p for p in schedule.get("phases") or [] if current_end and p["start_date"] >= current_end
    ]
    if not later or not later[0].get("items"):
        return None
    return _id(later[0]["items"][0]["price"])


def subscription_from(obj: Any) -> Subscription:
    d = _plain(obj)
    item = d["items"]["data"][0]
    schedule = d.get("schedule")
    return Subscription(
        id=_stripe_id(d.get("id"), "sub_", "subscription"),
        customer=_stripe_id(_id(d["customer"]), "cus_", "subscription's customer"),
        status=d["status"],
        item_id=item["id"],
        price_id=item["price"]["id"],
        quantity=int(item.get("quantity") or 1),
        current_period_start=_ts(item.get("current_period_start")),
        current_period_end=_ts(item.get("current_period_end")),
        trial_end=_ts(d.get("trial_end")),
        cancel_at_period_end=bool(d.get("cancel_at_period_end")),
        latest_invoice=_id(d.get("latest_invoice")),
        metadata=d.get("metadata") or {},
        schedule_id=_id(schedule),
        scheduled_price_id=_next_phase_price(schedule),
        clock_time=_ts((d.get("test_clock") or {}).get("frozen_time"))
        if isinstance(d.get("test_clock"), dict)
        else None,
    )


def invoice_from(obj: Any) -> Invoice:
    d = _plain(obj)
    details = (d.get("parent") or {}).get("subscription_details") or {}
    return Invoice(
        id=_stripe_id(d.get("id"), "in_", "invoice"),
        customer=_stripe_id(_id(d["customer"]), "cus_", "invoice's customer"),
        subscription=_id(details.get("subscription")),
        number=d.get("number"),
        status=d["status"],
        currency=d["currency"],
        subtotal=d["subtotal"],
        total=d["total"],
        amount_due=d["amount_due"],
        amount_paid=d["amount_paid"],
        amount_remaining=d["amount_remaining"],
        period_start=_ts(d.get("period_start")),
        period_end=_ts(d.get("period_end")),
        hosted_invoice_url=d.get("hosted_invoice_url"),
        invoice_pdf=d.get("invoice_pdf"),
        next_payment_attempt=_ts(d.get("next_payment_attempt")),
        created=_ts(d.get("created")) or datetime.now(tz=UTC),
        attempt_count=int(d.get("attempt_count") or 0),
    )


# ---- customers ---------------------------------------------------------------------------


@_translating_errors
def customer_create(
    *,
    email: str,
    name: str,
    metadata: dict[str, str],
    idempotency_key: str,
    test_clock: str | None = None,
) -> Customer:
    params: Any = {"email": email, "name": name, "metadata": metadata}
    if test_clock:
        params["test_clock"] = test_clock
    return _customer(_client().v1.customers.create(params, _opts(idempotency_key)))


# ---- test clocks (Stripe test mode and the emulator) ---------------------------------------


def _clock(obj: Any) -> TestClock:
    return TestClock(id=obj.id, frozen_time=int(obj.frozen_time), status=obj.status)


@_translating_errors
def test_clock_create(*, name: str, frozen_time: int, idempotency_key: str) -> TestClock:
    params: Any = {"name": name, "frozen_time": frozen_time}
    return _clock(_client().v1.test_helpers.test_clocks.create(params, _opts(idempotency_key)))


@_translating_errors
def test_clock_of_customer(customer_id: str) -> TestClock | None:
    clock_id = _id(_client().v1.customers.retrieve(customer_id).test_clock)
    return _clock(_client().v1.test_helpers.test_clocks.retrieve(clock_id)) if clock_id else None


@_translating_errors
def test_clock_advance(clock_id: str, *, frozen_time: int) -> TestClock:
    """Ask Stripe to move the clock; Stripe advances asynchronously (poll until ready)."""
    params: Any = {"frozen_time": frozen_time}
    return _clock(_client().v1.test_helpers.test_clocks.advance(clock_id, params))


@_translating_errors
def test_clock_retrieve(clock_id: str) -> TestClock:
    return _clock(_client().v1.test_helpers.test_clocks.retrieve(clock_id))


# ---- catalog ------------------------------------------------------------------------------


@_translating_errors
def product_upsert(*, product_id: str, name: str, description: str, active: bool) -> Product:
    """Products carry our own id (prod_<plan code>), so creating twice is impossible."""
    fields: Any = {"name": name, "active": active, "metadata": {"source": "saas"}}
    if description:
        fields["description"] = description
    try:
        current = _client().v1.products.retrieve(product_id)
    except stripe.InvalidRequestError as exc:
        if exc.code != "resource_missing":
            raise
        params: Any = {"id": product_id, **fields}
        created = _client().v1.products.create(params, _opts(f"product-create-{product_id}"))
        return _product(created)
    if (current.name, bool(current.active), _plain(current).get("description") or "") == (
        name,
        active,
        description,
    ):
        return _product(current)
    # Setting the same fields twice is harmless, so each update has a key of its own (the
    # SDK reuses it for its retries). A key derived from the content would replay an old
    # answer, and change nothing, when a name is changed back within Stripe's 24 hours.
    key = f"product-update-{product_id}-{uuid.uuid4()}"
    updated = _client().v1.products.update(product_id, fields, _opts(key))
    return _product(updated)


@_translating_errors
def prices_by_lookup_keys(lookup_keys: list[str]) -> dict[str, Price]:
    params: Any = {"lookup_keys": lookup_keys, "limit": 100, "active": True}
    found = _client().v1.prices.list(params)
    return {p.lookup_key: _price(p) for p in found.data if p.lookup_key}


@_translating_errors
def price_create(
    *,
    product_id: str,
    lookup_key: str,
    unit_amount: int,
    currency: str,
    interval: str,
    metered_event: str | None,
    metadata: dict[str, str],
    idempotency_key: str,
) -> Price:
    recurring: dict[str, Any] = {"interval": interval}
    if metered_event:
        meter = _meter_for(metered_event)
        recurring.update(usage_type="metered", meter=meter)
    params: Any = {
        "product": product_id,
        "unit_amount": unit_amount,
        "currency": currency,
        "recurring": recurring,
        "lookup_key": lookup_key,
        "transfer_lookup_key": True,
        "metadata": metadata,
    }
    return _price(_client().v1.prices.create(params, _opts(idempotency_key)))


@_translating_errors
def price_deactivate(*, price_id: str) -> None:
    _client().v1.prices.update(price_id, {"active": False}, _opts(f"price-off-{price_id}"))


def _meter_for(event_name: str) -> str:
    meters = _client().v1.billing.meters.list({"limit": 100})
    for meter in meters.data:
        if meter.event_name == event_name:
            return str(meter.id)
    params: Any = {
        "display_name": event_name,
        "event_name": event_name,
        "default_aggregation": {"formula": "sum"},
    }
    return str(_client().v1.billing.meters.create(params, _opts(f"meter-{event_name}")).id)


# ---- subscriptions -----------------------------------------------------------------------

# Every subscription we mirror comes with its schedule, so the mirror knows what Stripe will
# switch to at the period end without deciding anything on its own clock, and with its test
# clock (test mode), so that times we record are the simulated ones.
_WITH_SCHEDULE: Any = {"expand": ["schedule", "test_clock"]}


@_translating_errors
def subscription_retrieve(subscription_id: str) -> Subscription:
    return subscription_from(_client().v1.subscriptions.retrieve(subscription_id, _WITH_SCHEDULE))


@_translating_errors
def subscription_ids_live(customer_id: str) -> list[str]:
    """The customer's subscriptions that still bill or may bill (not canceled or expired)."""
    params: Any = {"customer": customer_id, "status": "all", "limit": 100}
    found = _each(_client().v1.subscriptions.list(params), "subscription")
    return [
        _stripe_id(s.id, "sub_", "subscription")
        for s in found
        if s.status not in ("canceled", "incomplete_expired")
    ]


@_translating_errors
def subscription_create_trial(
    *,
    customer_id: str,
    price_id: str,
    quantity: int,
    trial_days: int,
    metadata: dict[str, str],
    idempotency_key: str,
) -> Subscription:
    """A trial without a card: at its end Stripe cancels unless a card was added."""
    params: Any = {
        "customer": customer_id,
        "items": [{"price": price_id, "quantity": quantity}],
        "trial_period_days": trial_days,
        "trial_settings": {"end_behavior": {"missing_payment_method": "cancel"}},
        "metadata": metadata,
        **_WITH_SCHEDULE,
    }
    return subscription_from(_client().v1.subscriptions.create(params, _opts(idempotency_key)))


def _items(
    item_id: str, price_id: str | None, quantity: int | None, *, replace_item: bool
) -> list[dict[str, Any]]:
    """The `items` of an update. A change between a metered and a per-unit price replaces
    the item (Stripe keeps an item's usage type; a metered item has no quantity)."""
    if replace_item:
        added: dict[str, Any] = {"price": price_id}
        if quantity is not None:
            added["quantity"] = quantity
        return [{"id": item_id, "deleted": True}, added]
    item: dict[str, Any] = {"id": item_id}
    if price_id:
        item["price"] = price_id
    if quantity is not None:
        item["quantity"] = quantity
    return [item]


@_translating_errors
def subscription_update(
    subscription_id: str,
    *,
    idempotency_key: str,
    item_id: str | None = None,
    price_id: str | None = None,
    quantity: int | None = None,
    replace_item: bool = False,
    proration_behavior: str | None = None,
    cancel_at_period_end: bool | None = None,
    payment_behavior: str | None = None,
    proration_date: int | None = None,
) -> Subscription:
    params: dict[str, Any] = dict(_WITH_SCHEDULE)
    if payment_behavior:
        params["payment_behavior"] = payment_behavior
    if proration_date:
        params["proration_date"] = proration_date
    if item_id and (price_id or quantity is not None):
        params["items"] = _items(item_id, price_id, quantity, replace_item=replace_item)
    if proration_behavior:
        params["proration_behavior"] = proration_behavior
    if cancel_at_period_end is not None:
        params["cancel_at_period_end"] = cancel_at_period_end
    typed: Any = params
    updated = _client().v1.subscriptions.update(subscription_id, typed, _opts(idempotency_key))
    return subscription_from(updated)


@_translating_errors
def subscription_cancel_now(subscription_id: str) -> Subscription:
    return subscription_from(_client().v1.subscriptions.cancel(subscription_id, _WITH_SCHEDULE))


@_translating_errors
def subscription_cancel_and_refund(subscription_id: str, *, idempotency_key: str) -> int:
    """End a subscription now and refund every payment of its invoices; returns the amount
    refunded (minor units). For a duplicate subscription nobody meant to buy."""
    client = _client()
    subscription = client.v1.subscriptions.retrieve(subscription_id)
    if subscription.status not in ("canceled", "incomplete_expired"):
        client.v1.subscriptions.cancel(subscription_id)
    refunded = 0
    invoices: Any = {"subscription": subscription_id, "limit": 100}
    for invoice in _each(client.v1.invoices.list(invoices), "invoice"):
        payments: Any = {"invoice": invoice.id, "status": "paid", "limit": 100}
        for payment in _each(client.v1.invoice_payments.list(payments), "invoice payment"):
            refunded += _refund(client, _plain(payment), f"{idempotency_key}-{payment.id}")
    return refunded


def _refund(client: stripe.StripeClient, payment: dict[str, Any], key: str) -> int:
    target = payment.get("payment") or {}
    params: Any = {"reason": "duplicate", "metadata": {"source": "saas"}}
    if target.get("payment_intent"):
        params["payment_intent"] = _id(target["payment_intent"])
    elif target.get("charge"):
        params["charge"] = _id(target["charge"])
    else:
        return 0
    return int(client.v1.refunds.create(params, _opts(key)).amount)


@_translating_errors
def invoice_preview_change(
    *,
    customer_id: str,
    subscription_id: str,
    item_id: str,
    price_id: str,
    quantity: int | None,
    proration_date: int,
    replace_item: bool = False,
) -> InvoicePreview:
    """What Stripe would invoice at once for the change: exactly what the same update with
    `always_invoice` and this `proration_date` charges."""
    params: Any = {
        "customer": customer_id,
        "subscription": subscription_id,
        "subscription_details": {
            "items": _items(item_id, price_id, quantity, replace_item=replace_item),
            "proration_date": proration_date,
            "proration_behavior": "always_invoice",
        },
    }
    preview = _client().v1.invoices.create_preview(params)
    proration = sum(line.amount for line in preview.lines.data if _is_proration(line))
    return InvoicePreview(
        amount_due=preview.amount_due,
        currency=preview.currency,
        proration_amount=proration,
        total=preview.total,
    )


@_translating_errors
def invoice_preview_upcoming(*, customer_id: str, subscription_id: str) -> UpcomingInvoice:
    """Stripe's preview of the subscription's next invoice as things stand (no change)."""
    params: Any = {"customer": customer_id, "subscription": subscription_id}
    preview = _plain(_client().v1.invoices.create_preview(params))
    amount, currency = preview.get("amount_due"), preview.get("currency")
    if not isinstance(amount, int) or not isinstance(currency, str):
        raise _malformed("invoice preview")
    return UpcomingInvoice(
        amount_due=amount, currency=currency, period_end=_ts(preview.get("period_end"))
    )


# ---- subscription schedules (changes at a period end) --------------------------------------


def _schedule(obj: Any) -> Schedule:
    d = _plain(obj)
    return Schedule(
        id=d["id"],
        status=d["status"],
        phase_start=(d.get("current_phase") or {}).get("start_date"),
    )


@_translating_errors
def schedule_for_subscription(subscription_id: str, *, idempotency_key: str) -> Schedule:
    """The subscription's schedule: its own if it has one, else a new one that starts as
    the subscription is now (one phase, to the period end)."""
    client = _client()
    current = client.v1.subscriptions.retrieve(subscription_id)
    if current.schedule:
        return _schedule(client.v1.subscription_schedules.retrieve(str(_id(current.schedule))))
    params: Any = {"from_subscription": subscription_id}
    return _schedule(client.v1.subscription_schedules.create(params, _opts(idempotency_key)))


def _phase_item(price_id: str, quantity: int | None) -> dict[str, Any]:
    item: dict[str, Any] = {"price": price_id}
    if quantity is not None:
        item["quantity"] = quantity
    return item


@_translating_errors
def schedule_change_at(
    schedule: Schedule,
    *,
    current: tuple[str, int | None],
    switch_at: int,
    new: tuple[str, int | None],
    idempotency_key: str,
) -> None:
    """Two phases: the current (price, quantity) until `switch_at`, then the new one; at the
    end the schedule lets go and the subscription renews on the new price by itself."""
    params: Any = {
        "end_behavior": "release",
        "proration_behavior": "none",
        "phases": [
            {
                "items": [_phase_item(*current)],
                "start_date": schedule.phase_start,
                "end_date": switch_at,
                "proration_behavior": "none",
            },
            {"items": [_phase_item(*new)], "proration_behavior": "none"},
        ],
    }
    _client().v1.subscription_schedules.update(schedule.id, params, _opts(idempotency_key))


@_translating_errors
def schedule_release(schedule_id: str, *, idempotency_key: str) -> None:
    """Drop a scheduled change: the subscription carries on as it is."""
    _client().v1.subscription_schedules.release(schedule_id, {}, _opts(idempotency_key))


def _is_proration(line: Any) -> bool:
    parent = _plain(line).get("parent") or {}
    details = parent.get("subscription_item_details") or parent.get("invoice_item_details") or {}
    return bool(details.get("proration"))


# ---- sessions -----------------------------------------------------------------------------


@_translating_errors
def checkout_session_create(
    *,
    customer_id: str,
    price_id: str,
    quantity: int | None,
    success_url: str,
    cancel_url: str,
    trial_days: int,
    metadata: dict[str, str],
    idempotency_key: str,
) -> Session:
    line: dict[str, Any] = {"price": price_id}
    if quantity is not None:
        line["quantity"] = quantity
    params: Any = {
        "mode": "subscription",
        "customer": customer_id,
        "line_items": [line],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": metadata.get("tenant_id"),
        "metadata": metadata,
        "subscription_data": {"metadata": metadata},
    }
    if trial_days:
        params["subscription_data"]["trial_period_days"] = trial_days
    session = _plain(_client().v1.checkout.sessions.create(params, _opts(idempotency_key)))
    return Session(
        id=_stripe_id(session.get("id"), "cs_", "Checkout Session"),
        url=_page_url(session.get("url"), "Checkout Session"),
    )


@_translating_errors
def portal_session_create(*, customer_id: str, return_url: str) -> Session:
    params: Any = {"customer": customer_id, "return_url": return_url}
    session = _plain(_client().v1.billing_portal.sessions.create(params))
    return Session(
        id=_stripe_id(session.get("id"), "bps_", "portal session"),
        url=_page_url(session.get("url"), "portal session"),
    )


@_translating_errors
def checkout_session_ids_open(customer_id: str) -> list[str]:
    params: Any = {"customer": customer_id, "status": "open", "limit": 100}
    found = _each(_client().v1.checkout.sessions.list(params), "Checkout Session")
    return [_stripe_id(s.id, "cs_", "Checkout Session") for s in found]


@_translating_errors
def checkout_session_expire(session_id: str) -> str:
    """Expire an open session; returns its status after (`expired`, or `complete` when it
    was paid first: Stripe refuses to expire a completed session)."""
    try:
        return str(_client().v1.checkout.sessions.expire(session_id).status)
    except stripe.InvalidRequestError:
        return str(_client().v1.checkout.sessions.retrieve(session_id).status)


@_translating_errors
def checkout_session_subscription(session_id: str) -> str | None:
    session = _client().v1.checkout.sessions.retrieve(session_id)
    return _id(_plain(session).get("subscription"))


# ---- invoices and usage -------------------------------------------------------------------


@_translating_errors
def invoice_amount_paid(invoice_id: str | None) -> int:
    return int(_client().v1.invoices.retrieve(invoice_id).amount_paid) if invoice_id else 0


@_translating_errors
def invoice_retrieve(invoice_id: str) -> Invoice:
    return invoice_from(_client().v1.invoices.retrieve(invoice_id))


@_translating_iteration
def invoices_for_customer(customer_id: str) -> Iterator[Invoice]:
    params: Any = {"customer": customer_id, "limit": 100}
    for invoice in _each(_client().v1.invoices.list(params), "invoice"):
        yield invoice_from(invoice)


@_translating_errors
def meter_event_create(
    *, event_name: str, customer_id: str, value: int, identifier: str, timestamp: int
) -> None:
    """`identifier` makes Stripe count the event once, however often it is sent."""
    params: Any = {
        "event_name": event_name,
        "identifier": identifier,
        "timestamp": timestamp,
        "payload": {"stripe_customer_id": customer_id, "value": str(value)},
    }
    _client().v1.billing.meter_events.create(params, _opts(f"meter-event-{identifier}"))


# ---- webhooks and events ------------------------------------------------------------------


def webhook_event_verify(
    *, payload: bytes, signature_header: str, secrets: list[str], tolerance: int
) -> dict[str, Any]:
    """The event, if any of `secrets` signed this exact body within `tolerance` seconds."""
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(
                payload.decode("utf-8"), signature_header, secret, tolerance
            )
        except stripe.SignatureVerificationError:
            continue
        except UnicodeDecodeError as exc:
            raise WebhookSignatureInvalid("The body is not UTF-8.") from exc
        return dict(json.loads(payload))
    raise WebhookSignatureInvalid("No webhook secret verifies this signature.")


@_translating_iteration
def events_since(*, created_gte: int, undelivered_only: bool = False) -> Iterator[dict[str, Any]]:
    params: dict[str, Any] = {"created": {"gte": created_gte}, "limit": 100}
    if undelivered_only:
        params["delivery_success"] = False
    for event in _each(_client().v1.events.list(params), "event"):  # type: ignore[arg-type]
        yield _plain(event)


# ---- what webhook events point at ---------------------------------------------------------


@_translating_errors
def charge_customer(charge_id: str) -> str | None:
    """The customer a charge belongs to (a dispute names only its charge)."""
    customer = _client().v1.charges.retrieve(charge_id).customer
    if customer is None or isinstance(customer, str):
        return customer
    return str(customer.id)
