"""Checkout Sessions (subscription mode) and billing portal sessions."""

from __future__ import annotations

from .. import payments
from ..errors import StripeError, invalid
from ..fixtures import build
from ..params import Params, apply_metadata, as_list, nested, req, to_int
from ..routing import route
from ..store import Obj, Store
from .core import create_customer
from .subscriptions import recurring_price, start_subscription

UI_MODES = ("hosted_page", "embedded_page", "elements", "form")


def _line_items(st: Store, p: Params) -> list[tuple[Obj, int | None]]:
    """(price, quantity) per line item. Stripe wants a quantity for a licensed price and
    refuses one for a metered price (usage is billed in arrears)."""
    items = as_list(p, "line_items")
    if not items:
        raise invalid("line_items", "line_items is required in subscription mode.")
    out: list[tuple[Obj, int | None]] = []
    for i, it in enumerate(items):
        price = recurring_price(st, it, f"line_items[{i}][price]")
        given = it.get("quantity") not in (None, "")
        if price["recurring"]["usage_type"] == "metered":
            if given:
                raise StripeError(
                    400,
                    "Quantity should not be specified where usage_type is `metered`. "
                    f"Remove quantity from `line_items[{i}]`.",
                    param=f"line_items[{i}][quantity]",
                )
            out.append((price, None))
            continue
        if not given:
            raise StripeError(
                400,
                f"Quantity is required. Add `quantity` to `line_items[{i}]`",
                param=f"line_items[{i}]",
            )
        quantity = to_int(it, "quantity", label=f"line_items[{i}][quantity]")
        if quantity is None or quantity < 1:
            raise StripeError(
                400,
                "This value must be greater than or equal to 1.",
                code="parameter_invalid_integer",
                param=f"line_items[{i}][quantity]",
            )
        out.append((price, quantity))
    return out


def _ui_mode(p: Params) -> str:
    """Where the customer pays: a Stripe-hosted page (`url`, redirects to `success_url`) or
    a page of the app (`client_secret`; Stripe refuses the redirect URLs there)."""
    mode = p.get("ui_mode") or "hosted_page"
    if mode not in UI_MODES:
        raise invalid("ui_mode", f"Invalid ui_mode: must be one of {', '.join(UI_MODES)}")
    if mode == "hosted_page":
        req(p, "success_url")
    else:
        for name in ("success_url", "cancel_url"):
            if p.get(name):
                raise invalid(name, f"`{name}` is not allowed when `ui_mode` is `{mode}`.")
    return str(mode)


@route("POST", "/v1/checkout/sessions")
def create_session(st: Store, p: Params) -> Obj:
    if req(p, "mode") != "subscription":
        raise invalid("mode", "The emulator supports Checkout in mode=subscription only.")
    lines = _line_items(st, p)
    customer = st.get(p["customer"], "customer", "customer") if p.get("customer") else None
    ui_mode = _ui_mode(p)
    data = nested(p, "subscription_data")
    trial = to_int(data, "trial_period_days", label="subscription_data[trial_period_days]")
    now = st.now(customer["test_clock"] if customer else None)
    # What the first invoice bills: licensed items in advance; metered ones bill later.
    subtotal = 0 if trial else sum(pr["unit_amount"] * (qty or 0) for pr, qty in lines)
    sid = st.new_id("cs_test", 58)
    s = build(
        "checkout.session",
        nulls="after_expiration allow_promotion_codes billing_address_collection client_secret "
        "consent consent_collection customer_details invoice invoice_creation locale "
        "payment_intent payment_link payment_method_configuration_details recovered_from "
        "saved_payment_method_options setup_intent shipping_address_collection shipping_cost "
        "submit_type subscription adaptive_pricing collected_information permissions "
        "wallet_options origin_context currency_conversion customer_account "
        "integration_identifier",
        empty="custom_fields shipping_options discounts",
        id=sid,
        amount_subtotal=subtotal,
        amount_total=subtotal,
        cancel_url=p.get("cancel_url"),
        success_url=p.get("success_url"),
        client_reference_id=p.get("client_reference_id") or None,
        created=now,
        expires_at=now + 86400,
        currency=lines[0][0]["currency"],
        customer=customer["id"] if customer else None,
        customer_creation=None if customer else "always",
        customer_email=p.get("customer_email") or None,
        mode="subscription",
        payment_method_collection="always",
        payment_method_types=["card"],
        payment_status="unpaid",
        status="open",
        ui_mode=ui_mode,
        url=f"{st.base_url}/c/pay/{sid}" if ui_mode == "hosted_page" else None,
        managed_payments={"enabled": False},
        phone_number_collection={"enabled": False},
        total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
    )
    s["automatic_tax"] = {"enabled": False, "liability": None, "status": None, "provider": None}
    s["custom_text"] = dict.fromkeys(s["custom_text"])
    if ui_mode != "hosted_page":
        s["client_secret"] = f"{sid}_{st.new_id('secret', 24)}"
        s["return_url"] = p.get("return_url") or None
        s["redirect_on_completion"] = p.get("redirect_on_completion") or "always"
    apply_metadata(s, p)
    # What the session will subscribe to; kept aside as Stripe does not echo it on the session.
    items = [
        {"price": pr["id"], **({} if qty is None else {"quantity": str(qty)})} for pr, qty in lines
    ]
    st.internal_of(sid)["checkout"] = {"items": items, "subscription_data": data}
    return st.put(s)


def complete(st: Store, session: Obj, pm_value: str = "pm_card_visa") -> Obj:
    """Pay the session like the hosted page would: customer, card, subscription, invoice.
    An expired or completed session can't be paid (Stripe's page says it is no longer
    available) and nothing is created."""
    if session["status"] != "open":
        raise StripeError(
            400,
            f"This Checkout Session is no longer active (its status is `{session['status']}`).",
        )
    customer = st.find(session["customer"], "customer") or create_customer(
        st, {"email": session["customer_email"] or ""}
    )
    spec = st.internal_of(session["id"])["checkout"]
    data = spec["subscription_data"]
    pm = payments.resolve(st, pm_value or "pm_card_visa", customer, "payment_method")
    params = {
        "items": spec["items"],
        "default_payment_method": pm["id"],
        "payment_behavior": "error_if_incomplete",
        "metadata": data.get("metadata") or {},
        "trial_period_days": data.get("trial_period_days"),
        "trial_end": data.get("trial_end"),
        "description": data.get("description"),
    }
    sub = start_subscription(st, customer, params)
    invoice = st.get(sub["latest_invoice"], "invoice")
    session.update(
        status="complete",
        customer=customer["id"],
        subscription=sub["id"],
        invoice=invoice["id"],
        payment_status="paid" if invoice["amount_paid"] else "no_payment_required",
    )
    session["customer_details"] = {
        "address": dict(customer["address"]),
        "email": customer["email"],
        "name": customer["name"],
        "phone": customer["phone"],
        "tax_exempt": "none",
        "tax_ids": [],
        "business_name": None,
        "individual_name": None,
    }
    st.emit("checkout.session.completed", session)
    return session


@route("GET", "/v1/checkout/sessions/{id}")
def get_session(st: Store, p: Params, sid: str) -> Obj:
    return st.get(sid, "checkout.session")


@route("GET", "/v1/checkout/sessions")
def list_sessions(st: Store, p: Params) -> Obj:
    keys = ("customer", "subscription", "status", "client_reference_id")
    return st.paginate(
        st.all("checkout.session", **{k: p[k] for k in keys if p.get(k)}),
        p,
        "/v1/checkout/sessions",
    )


@route("POST", "/v1/checkout/sessions/{id}/expire")
def expire_session(st: Store, p: Params, sid: str) -> Obj:
    session = st.get(sid, "checkout.session")
    if session["status"] != "open":
        raise StripeError(400, "Only Checkout Sessions with a status of `open` can be expired.")
    session.update(status="expired", url=None)
    st.emit("checkout.session.expired", session)
    return session


@route("POST", "/v1/billing_portal/sessions")
def create_portal_session(st: Store, p: Params) -> Obj:
    customer = st.get(req(p, "customer"), "customer", "customer")
    sid = st.new_id("bps", 24)
    s = build(
        "billing_portal.session",
        nulls="flow on_behalf_of customer_account",
        id=sid,
        configuration=p.get("configuration") or "bpc_emulator",
        created=st.now(customer["test_clock"]),
        customer=customer["id"],
        locale=p.get("locale"),
        return_url=p.get("return_url"),
        url=f"{st.base_url}/p/session/{sid}",
    )
    return st.put(s)
