"""The billing portal page (`/p/session/<id>`): what it shows, and the actions its forms post.

Actions go through the API's own resource functions, so they change the same objects and emit
the same events as the equivalent API calls (as Stripe's portal does): the page never edits
objects itself.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from . import payments
from .billing_engine import product_name
from .errors import StripeError, invalid, no_such
from .pages import (
    brand,
    card_choices,
    day,
    e,
    link,
    message,
    money,
    page,
    price_text,
    safe_url,
)
from .params import Params
from .resources import core, invoices, subscriptions
from .store import Obj, Store

NOTICE = "portal_notice"  # internal key: the last action's result, shown once after a redirect
ACTIONS = ("update_card", "pay_invoice", "cancel", "renew")


# --- what the page shows ---------------------------------------------------------------------


def _live(st: Store, customer_id: str) -> list[Obj]:
    subs = st.all("subscription", customer=customer_id)
    return [s for s in subs if s["status"] in subscriptions.LIVE]


def _button(action: str, label: str, field: str = "", value: str = "", cls: str = "") -> str:
    hidden = f"<input type='hidden' name='{e(field)}' value='{e(value)}'>" if field else ""
    css = f" class='{e(cls)}'" if cls else ""
    return (
        f"<form method='post' class='inline'><input type='hidden' name='action' "
        f"value='{e(action)}'>{hidden}<button type='submit'{css}>{e(label)}</button></form>"
    )


def _subscription(st: Store, sub: Obj) -> str:
    items = sub["items"]["data"]
    prices = [(st.find(i["price"]["id"], "price") or i["price"], i["quantity"]) for i in items]
    names = ", ".join(dict.fromkeys(product_name(st, price) for price, _ in prices))
    rows = "".join(f"<li>{e(price_text(st, price, qty))}</li>" for price, qty in prices)
    end = items[0]["current_period_end"] if items else None
    status = f"Status: <strong>{e(sub['status'])}</strong>"
    if sub["status"] == "trialing" and sub["trial_end"]:
        status += f" · trial ends {e(day(sub['trial_end']))}"
    if sub["cancel_at_period_end"] or sub["cancel_at"]:
        when = (
            f"<p><strong>Cancels on {e(day(sub['cancel_at'] or end))}</strong>; "
            "it stays usable until then.</p>"
        )
        button = _button("renew", "Renew (don't cancel)", "subscription", sub["id"])
    else:
        when = f"<p>Current period ends {e(day(end))}; renews automatically.</p>"
        button = _button("cancel", "Cancel subscription", "subscription", sub["id"], "secondary")
    return (
        f"<div class='box'><h3>{e(names)}</h3><ul>{rows}</ul><p>{status}</p>{when}"
        f"<p>{button}</p><p class='muted'>{e(sub['id'])}</p></div>"
    )


def default_card(st: Store, customer: Obj) -> Obj | None:
    """The card invoices are charged to: the customer's default, else a subscription's own
    (Checkout sets it on the subscription)."""
    pm = st.find(customer["invoice_settings"]["default_payment_method"], "payment_method")
    for sub in reversed(_live(st, customer["id"])):
        pm = pm or st.find(sub["default_payment_method"], "payment_method")
    return pm


def _card(st: Store, customer: Obj) -> str:
    pm = default_card(st, customer)
    if pm is None:
        current = "<p>No card on file.</p>"
    else:
        card = pm["card"]
        current = (
            f"<p id='default-card'><strong>{e(brand(card['brand']))} •••• {e(card['last4'])}"
            f"</strong>, expires {e(card['exp_month'])}/{e(card['exp_year'])}</p>"
        )
    return (
        f"<h2>Payment method</h2>{current}<form method='post'>"
        "<input type='hidden' name='action' value='update_card'>"
        + card_choices("", "Replace it with a test card")
        + "<p><button type='submit'>Update card</button></p></form>"
    )


def _invoices(st: Store, customer: Obj) -> str:
    found = [i for i in st.all("invoice", customer=customer["id"]) if i["status"] != "draft"]
    if not found:
        return "<h2>Invoices</h2><p>No invoices yet.</p>"
    rows = []
    for inv in list(reversed(found))[:24]:
        when = inv["status_transitions"].get("finalized_at") or inv["created"]
        actions = [link(inv.get("hosted_invoice_url"), "View")]
        if inv["status"] == "open":
            actions.append(_button("pay_invoice", "Pay", "invoice", inv["id"]))
        rows.append(
            f"<tr><td>{e(inv['number'] or inv['id'])}</td><td>{e(day(when))}</td>"
            f"<td>{e(money(inv['total'], inv['currency']))}</td>"
            f"<td>{e(inv['status'])}</td><td>{' '.join(actions)}</td></tr>"
        )
    return (
        "<h2>Invoices</h2><table><tr><th>Number</th><th>Date</th><th>Amount</th>"
        f"<th>Status</th><th></th></tr>{''.join(rows)}</table>"
    )


def business(session: Obj) -> str:
    """Who to go back to: Stripe names the business; the emulator has the return URL's host."""
    url = safe_url(session["return_url"])
    return (urlsplit(url).hostname or "the site") if url else "the site"


def render(
    st: Store, session: Obj, *, notice: str | None = None, error: str | None = None
) -> bytes:
    customer = st.find(session["customer"], "customer")
    if customer is None:
        return page("Billing portal", "<p>This customer no longer exists.</p>")
    subs = _live(st, customer["id"])
    who = customer["name"] or customer["email"] or customer["id"]
    back = link(session["return_url"], f"← Return to {business(session)}")
    body = (
        f"<p class='muted'>{e(who)}</p>"
        + message(error)
        + message(notice, "notice")
        + "<h2>Current subscription</h2>"
        + ("".join(_subscription(st, s) for s in subs) or "<p>No current subscription.</p>")
        + _card(st, customer)
        + _invoices(st, customer)
        + (f"<p>{back}</p>" if back else "")
    )
    return page("Billing portal", body)


# --- what its forms do -----------------------------------------------------------------------


def _owned(st: Store, obj_id: str | None, kind: str, customer: Obj) -> Obj:
    """An object of the session's customer (another customer's is reported as missing)."""
    obj = st.find(obj_id, kind)
    if obj is None or obj["customer"] != customer["id"]:
        raise no_such(kind, str(obj_id or ""), kind)
    return obj


def act(st: Store, session: Obj, form: Params) -> str:
    """Run one portal action for the session's customer; returns the notice to show."""
    customer = st.get(session["customer"], "customer")
    action = form.get("action")
    if action == "update_card":
        return _update_card(st, customer, str(form.get("payment_method") or ""))
    if action == "pay_invoice":
        inv = _owned(st, form.get("invoice"), "invoice", customer)
        if inv["status"] != "open":
            raise StripeError(400, f"Invoice {inv['number']} is {inv['status']}: nothing to pay.")
        invoices.pay_invoice(st, {}, inv["id"])
        return f"Invoice {inv['number']} is paid ({money(inv['amount_paid'], inv['currency'])})."
    if action in ("cancel", "renew"):
        sub = _owned(st, form.get("subscription"), "subscription", customer)
        if sub["status"] not in subscriptions.LIVE:
            raise StripeError(400, f"This subscription is {sub['status']}.")
        # Stripe's portal cancels at the end of the period by default.
        flag = action == "cancel"
        if sub["cancel_at_period_end"] != flag:
            subscriptions.update_subscription(
                st, {"cancel_at_period_end": "true" if flag else "false"}, sub["id"]
            )
        if flag:
            return f"Your subscription will be canceled on {day(sub['cancel_at'])}."
        end = sub["items"]["data"][0]["current_period_end"]
        return f"Your subscription will continue; it renews on {day(end)}."
    raise invalid("action", f"Unknown portal action; expected one of {', '.join(ACTIONS)}.")


def _update_card(st: Store, customer: Obj, value: str) -> str:
    """Attach the card and make it the default for invoices (payment_method.attached,
    customer.updated); subscriptions that carry their own default card get the new one too,
    or they would go on charging the old card."""
    if payments.card_named(value) is None:
        raise invalid("payment_method", "Choose one of the test cards.")
    params: Params = {"invoice_settings": {"default_payment_method": value}}
    core.update_customer(st, params, customer["id"])
    pm_id = customer["invoice_settings"]["default_payment_method"]
    for sub in _live(st, customer["id"]):
        if sub["default_payment_method"] not in (None, pm_id):
            subscriptions.update_subscription(st, {"default_payment_method": pm_id}, sub["id"])
    card = st.get(pm_id, "payment_method")["card"]
    return f"Card updated: {brand(card['brand'])} ending in {card['last4']}."
