"""Stripe's test cards, what charging them does (charges, PaymentIntents, the payments of an
invoice) and refunds."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from .errors import StripeError, card_error, invalid
from .fixtures import build
from .params import Params, apply_metadata, to_int
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
    """Charge the invoice's amount due, through its PaymentIntent; returns the decline
    (code, decline_code, message)."""
    card = card_of(pm) if pm else None
    failure = decline(card.charge_fails) if card and card.charge_fails else None
    if pm is None:
        failure = (
            "card_declined",
            "generic_decline",
            "This customer has no attached payment source or default payment method.",
        )
    ok = failure is None
    intent = _payment_intent(st, invoice, now)
    ch = build(
        "charge",
        nulls="balance_transaction receipt_url source transfer_data",
        id=st.new_id("ch", 24),
        amount=invoice["amount_due"],
        currency=invoice["currency"],
        amount_captured=invoice["amount_due"] if ok else 0,
        captured=ok,
        paid=ok,
        created=now,
        customer=invoice["customer"],
        description="Subscription payment",
        payment_intent=intent["id"],
        payment_method=pm["id"] if pm else None,
        status="succeeded" if ok else "failed",
        failure_code=failure[0] if failure else None,
        failure_message=failure[2] if failure else None,
    )
    ch["refunds"] = {**ch["refunds"], "data": [], "url": f"/v1/charges/{ch['id']}/refunds"}
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
    _record_attempt(st, intent, ch, failure, now)
    return failure


# --- an invoice's PaymentIntent and its invoice_payment ------------------------------------


def _payment_intent(st: Store, invoice: Obj, now: int) -> Obj:
    """The invoice's PaymentIntent, made at its first payment attempt and kept across
    retries (as Stripe does), with the `invoice_payment` that links the two."""
    flags = st.internal_of(invoice["id"])
    intent = st.find(flags.get("payment_intent"), "payment_intent")
    if intent:
        return intent
    pi_id = st.new_id("pi", 24)
    intent = build(
        "payment_intent",
        nulls="application application_fee_amount automatic_payment_methods canceled_at "
        "cancellation_reason customer_account excluded_payment_method_types "
        "last_payment_error latest_charge next_action on_behalf_of payment_method "
        "payment_method_configuration_details processing receipt_email review "
        "setup_future_usage shipping source statement_descriptor "
        "statement_descriptor_suffix transfer_data transfer_group",
        zeros="amount_capturable amount_received",
        id=pi_id,
        amount=invoice["amount_due"],
        amount_details={"tip": {}},
        client_secret=f"{pi_id}_{st.new_id('secret', 25)}",
        created=now,
        currency=invoice["currency"],
        customer=invoice["customer"],
        description="Subscription payment",
        managed_payments={"enabled": False},
        payment_method_options={},
        payment_method_types=["card"],
        status="requires_payment_method",
    )
    payment = build(
        "invoice_payment",
        id=st.new_id("inpay", 24),
        amount_paid=None,
        amount_requested=invoice["amount_due"],
        created=now,
        currency=invoice["currency"],
        invoice=invoice["id"],
        is_default=True,
        payment={"type": "payment_intent", "payment_intent": pi_id},
        status="open",
        status_transitions={"canceled_at": None, "paid_at": None},
    )
    st.put(intent)
    st.put(payment)
    flags["payment_intent"] = pi_id
    st.internal_of(pi_id)["invoice_payment"] = payment["id"]
    st.emit("payment_intent.created", intent)
    return intent


def _record_attempt(
    st: Store, intent: Obj, ch: Obj, failure: tuple[str, str, str] | None, now: int
) -> None:
    intent.update(payment_method=ch["payment_method"], latest_charge=ch["id"])
    payment = st.get(st.internal_of(intent["id"])["invoice_payment"], "invoice_payment")
    if failure is None:
        intent.update(status="succeeded", amount_received=ch["amount"], last_payment_error=None)
        payment.update(status="paid", amount_paid=ch["amount"])
        payment["status_transitions"]["paid_at"] = now
        st.emit("payment_intent.succeeded", intent)
        return
    code, decline_code, message = failure
    intent["last_payment_error"] = {
        "charge": ch["id"],
        "code": code,
        "decline_code": decline_code,
        "message": message,
        "type": "card_error",
    }
    st.emit("payment_intent.payment_failed", intent)


def cancel_invoice_payment(st: Store, invoice: Obj, now: int) -> None:
    """A voided invoice's unpaid PaymentIntent is canceled, and so is its invoice_payment."""
    intent = st.find(st.internal_of(invoice["id"]).get("payment_intent"), "payment_intent")
    if intent is None or intent["status"] == "succeeded":
        return
    intent.update(status="canceled", canceled_at=now, cancellation_reason="void_invoice")
    payment = st.get(st.internal_of(intent["id"])["invoice_payment"], "invoice_payment")
    payment["status"] = "canceled"
    payment["status_transitions"]["canceled_at"] = now
    st.emit("payment_intent.canceled", intent)


# --- refunds -------------------------------------------------------------------------------

REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def _money(amount: int, currency: str) -> str:
    return f"${amount / 100:.2f}" if currency == "usd" else f"{amount / 100:.2f} {currency.upper()}"


def _charge_to_refund(st: Store, p: Params) -> Obj:
    if p.get("charge"):
        ch = st.get(p["charge"], "charge", "charge")
        if p.get("payment_intent") and ch["payment_intent"] != p["payment_intent"]:
            raise invalid("payment_intent", "The charge does not belong to this PaymentIntent.")
    elif p.get("payment_intent"):
        intent = st.get(p["payment_intent"], "payment_intent", "payment_intent")
        found = st.find(intent["latest_charge"], "charge")
        if intent["status"] != "succeeded" or found is None:
            raise invalid(
                "payment_intent",
                f"PaymentIntent {intent['id']} does not have a successful charge to refund.",
            )
        ch = found
    else:
        raise StripeError(
            400,
            "One of the following params should be provided for this request: "
            "payment_intent or charge.",
            code="parameter_missing",
        )
    if ch["status"] != "succeeded":
        raise invalid("charge", f"Charge {ch['id']} did not succeed: there is nothing to refund.")
    return ch


def refund(st: Store, p: Params) -> Obj:
    """`POST /v1/refunds`: all, or part, of what is left of a successful charge."""
    ch = _charge_to_refund(st, p)
    left = ch["amount_captured"] - ch["amount_refunded"]
    if left <= 0:
        raise StripeError(
            400, f"Charge {ch['id']} has already been refunded.", code="charge_already_refunded"
        )
    amount = to_int(p, "amount", left)
    if amount is None or amount < 1:
        raise invalid("amount", "This value must be greater than or equal to 1.")
    if amount > left:
        raise StripeError(
            400,
            f"Refund amount ({_money(amount, ch['currency'])}) is greater than unrefunded "
            f"amount on charge ({_money(left, ch['currency'])})",
            code="amount_too_large",
            param="amount",
        )
    if p.get("reason") not in (None, "", *REFUND_REASONS):
        raise invalid("reason")
    re = build(
        "refund",
        nulls="balance_transaction customer customer_account payment_method receipt_number "
        "source_transfer_reversal transfer_reversal",
        id=st.new_id("re", 24),
        amount=amount,
        charge=ch["id"],
        created=st.customer_now(ch["customer"]),
        currency=ch["currency"],
        destination_details={"card": {"type": "refund"}, "type": "card"},
        payment_intent=ch["payment_intent"],
        reason=p.get("reason") or None,
        status="succeeded",
    )
    apply_metadata(re, p)
    before = st.render(ch)
    ch["amount_refunded"] += amount
    ch["refunded"] = ch["amount_refunded"] == ch["amount_captured"]  # fully refunded only
    ch["refunds"]["data"].insert(0, copy.deepcopy(re))
    st.put(re)
    st.emit("refund.created", re)
    st.changed(ch, before, "charge.refunded")
    return re
