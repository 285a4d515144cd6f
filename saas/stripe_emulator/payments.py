"""Stripe's test cards and what charging them does."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import card_error
from .fixtures import build
from .store import Obj, Store


@dataclass(frozen=True)
class Card:
    brand: str
    last4: str
    attach_fails: str | None = None  # decline_code when even attaching (a $0 check) fails
    charge_fails: str | None = None  # decline_code when charging fails


# Stripe's test payment methods (`pm_card_<name>`, `tok_<name>`), keyed by name.
CARDS = {
    "visa": Card("visa", "4242"),
    "visa_debit": Card("visa", "5556"),
    "mastercard": Card("mastercard", "4444"),
    "amex": Card("amex", "8431"),
    "chargeDeclined": Card("visa", "0002", attach_fails="generic_decline"),
    "chargeDeclinedInsufficientFunds": Card("visa", "9995", attach_fails="insufficient_funds"),
    "chargeDeclinedExpiredCard": Card("visa", "0069", attach_fails="expired_card"),
    "chargeCustomerFail": Card("visa", "0341", charge_fails="generic_decline"),
    "authenticationRequired": Card("visa", "3184", charge_fails="authentication_required"),
}
_BY_LAST4 = {card.last4: card for card in CARDS.values()}
DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
    "authentication_required": "Your card was declined. This transaction requires authentication.",
}


def card_named(value: str) -> Card | None:
    """`pm_card_visa` / `tok_visa` -> the test card, or None for a stored payment method id."""
    for prefix in ("pm_card_", "tok_"):
        if value.startswith(prefix):
            return CARDS.get(value[len(prefix) :])
    return None


def card_for_number(number: str) -> Card:
    return _BY_LAST4.get(number[-4:], Card("visa", number[-4:]))


def card_of(pm: Obj) -> Card:
    return _BY_LAST4.get(pm["card"]["last4"], CARDS["visa"])


def new_payment_method(st: Store, card: Card, now: int) -> Obj:
    pm = build(
        "payment_method",
        nulls="customer customer_account",
        id=st.new_id("pm", 24),
        created=now,
        type="card",
        allow_redisplay="unspecified",
    )
    pm["billing_details"] = {
        "address": dict.fromkeys(pm["billing_details"]["address"]),
        "email": None,
        "name": None,
        "phone": None,
        "tax_id": None,
    }
    pm["card"].update(
        brand=card.brand,
        display_brand=card.brand,
        last4=card.last4,
        fingerprint=f"emu{card.brand}{card.last4}",
        wallet=None,
        generated_from=None,
        exp_month=12,
        exp_year=2034,
    )
    pm["card"]["networks"] = {"available": [card.brand], "preferred": None}
    return st.put(pm)


def decline(code: str) -> tuple[str, str, str]:
    """(error code, decline_code, message), as Stripe reports a declined card."""
    err = "authentication_required" if code == "authentication_required" else "card_declined"
    return err, code, DECLINE_MESSAGES.get(code, DECLINE_MESSAGES["generic_decline"])


def attach(st: Store, pm: Obj, customer: Obj) -> Obj:
    """Attach, running the $0 check Stripe runs; a card that fails it raises a 402."""
    if pm["customer"] == customer["id"]:
        return pm
    card = card_of(pm)
    if card.attach_fails:
        raise card_error(*decline(card.attach_fails))
    pm["customer"] = customer["id"]
    st.emit("payment_method.attached", pm)
    return pm


def resolve(st: Store, value: str, customer: Obj | None, param: str) -> Obj:
    """A stored payment method, or a fresh one for a test id (`pm_card_visa`), attached if a
    customer is given (Stripe clones test payment methods the same way)."""
    card = card_named(value)
    if card:
        if customer and card.attach_fails:
            raise card_error(*decline(card.attach_fails))
        pm = new_payment_method(st, card, st.customer_now(customer["id"] if customer else None))
    else:
        pm = st.get(value, "payment_method", param)
    return attach(st, pm, customer) if customer else pm


def charge(st: Store, invoice: Obj, pm: Obj | None, now: int) -> tuple[str, str, str] | None:
    """Charge the invoice's amount due; returns the decline (code, decline_code, message)."""
    card = card_of(pm) if pm else None
    failure = decline(card.charge_fails) if card and card.charge_fails else None
    if pm is None:
        failure = (
            "card_declined",
            "generic_decline",
            "This customer has no attached payment source or default payment method.",
        )
    ok = failure is None
    ch = build(
        "charge",
        nulls="balance_transaction payment_intent receipt_url source transfer_data refunds",
        id=st.new_id("ch", 24),
        amount=invoice["amount_due"],
        currency=invoice["currency"],
        amount_captured=invoice["amount_due"] if ok else 0,
        captured=ok,
        paid=ok,
        created=now,
        customer=invoice["customer"],
        description="Subscription payment",
        payment_method=pm["id"] if pm else None,
        status="succeeded" if ok else "failed",
        failure_code=failure[0] if failure else None,
        failure_message=failure[2] if failure else None,
    )
    ch["outcome"] = dict.fromkeys(ch["outcome"])
    ch["outcome"].update(type="authorized" if ok else "issuer_declined")
    ch["outcome"].update(network_status="approved_by_network" if ok else "declined_by_network")
    ch["outcome"]["reason"] = failure[1] if failure else None
    if pm:
        ch["payment_method_details"]["card"].update(
            brand=pm["card"]["brand"], last4=pm["card"]["last4"]
        )
    st.put(ch)
    st.emit("charge.succeeded" if ok else "charge.failed", ch)
    return failure
