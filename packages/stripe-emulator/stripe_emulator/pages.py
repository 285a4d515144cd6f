"""Small HTML stand-ins for Stripe-hosted pages: Checkout, invoices (the billing portal is in
portal.py). Self-contained pages, no external resources; every value goes through `e()`."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urlsplit

from .billing_engine import add_interval, product_name
from .invoicing import DAY
from .payments import CARDS, Card, decline
from .store import Obj, Store

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:44em;margin:2em auto;padding:0 1em;"
    "color:#1a1f36;line-height:1.45}"
    "h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}"
    ".muted{color:#697386;font-size:.9em}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;padding:.35em .5em;border-bottom:1px solid #e3e8ee}"
    ".box{border:1px solid #e3e8ee;border-radius:6px;padding:.6em 1em;margin:.8em 0}"
    ".error{background:#fde8e8;border:1px solid #f5a3a3;padding:.6em 1em;border-radius:6px}"
    ".notice{background:#e6f6ec;border:1px solid #9ad4ae;padding:.6em 1em;border-radius:6px}"
    "fieldset{border:1px solid #e3e8ee;border-radius:6px}"
    "fieldset label{display:block;margin:.25em 0}"
    "button{background:#635bff;color:#fff;border:0;border-radius:5px;padding:.5em 1.2em;"
    "font-size:1em;cursor:pointer}"
    "button.secondary{background:#fff;color:#635bff;border:1px solid #635bff}"
    "form.inline{display:inline}"
)
# Stripe amounts are in the currency's minor unit; these currencies have none.
ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
BRANDS = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express"}


def e(value: Any) -> str:
    """HTML-escaped text, quotes included (safe in attributes too)."""
    return escape("" if value is None else str(value))


def page(title: str, body: str, subtitle: str = "Stripe emulator · test mode") -> bytes:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{e(title)}</title><style>{_STYLE}</style></head><body>"
        f"<p class='muted'>{e(subtitle)}</p><h1>{e(title)}</h1>{body}</body></html>"
    ).encode()


def message(text: str | None, kind: str = "error") -> str:
    """An error or notice paragraph (screen readers announce it)."""
    if not text:
        return ""
    return f"<p class='{kind}' role='{'alert' if kind == 'error' else 'status'}'>{e(text)}</p>"


def safe_url(url: str | None) -> str | None:
    """Only http(s) URLs become links (a `javascript:` URL must never be one)."""
    return url if url and urlsplit(url).scheme in ("http", "https") else None


def link(url: str | None, text: str) -> str:
    href = safe_url(url)
    return f"<a href='{e(href)}'>{e(text)}</a>" if href else ""


def money(amount: int | None, currency: str) -> str:
    """`$30.00`, `30.00 EUR`, `500 JPY`."""
    amount = amount or 0
    if currency.lower() in ZERO_DECIMAL:
        return f"{amount:,} {currency.upper()}"
    value = f"{amount / 100:,.2f}"
    return f"${value}" if currency.lower() == "usd" else f"{value} {currency.upper()}"


def day(ts: int | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(int(ts), tz=UTC).strftime("%d %b %Y")


def interval(price: Obj) -> str:
    """`month`, `3 months`: what `per …` or `every …` applies to."""
    rec = price.get("recurring") or {}
    count, unit = rec.get("interval_count") or 1, rec.get("interval") or "period"
    return unit if count == 1 else f"{count} {unit}s"


def unit_label(st: Store, price: Obj) -> str:
    product = st.find(price["product"], "product")
    return str((product or {}).get("unit_label") or "seat")


def price_text(st: Store, price: Obj, quantity: int | None) -> str:
    """What an item costs: `$30.00 per seat / month × 3 = $90.00 / month`."""
    unit, every, cur = unit_label(st, price), interval(price), price["currency"]
    each = money(price["unit_amount"], cur)
    if (price.get("recurring") or {}).get("usage_type") == "metered":
        return f"{each} per unit used / {every}, billed at the end of each period"
    qty = quantity or 1
    total = money(price["unit_amount"] * qty, cur)
    units = unit if qty == 1 else f"{unit}s"
    return f"{each} per {unit} / {every} × {qty} {units} = {total} / {every}"


def brand(name: str) -> str:
    return BRANDS.get(name, name.title())


def card_outcome(card: Card) -> str:
    if card.attach_fails:
        return f"declined at once ({decline(card.attach_fails)[2]})"
    if card.charge_fails == "authentication_required":
        return "is saved, but every charge needs authentication and is declined"
    if card.charge_fails:
        return "is saved, but charging it fails (declined later)"
    return "succeeds"


def card_choices(selected: str, legend: str = "Test card") -> str:
    """Stripe's test cards as radio buttons named `payment_method` (values `pm_card_…`)."""
    rows = []
    for name, card in CARDS.items():
        value = f"pm_card_{name}"
        checked = " checked" if value == selected else ""
        rows.append(
            f"<label><input type='radio' name='payment_method' value='{e(value)}'{checked}> "
            f"{e(brand(card.brand))} •••• {e(card.last4)} <code>{e(value)}</code>: "
            f"{e(card_outcome(card))}</label>"
        )
    return f"<fieldset><legend>{e(legend)}</legend>{''.join(rows)}</fieldset>"


def not_found(what: str) -> bytes:
    return page("Page not found", f"<p>This {e(what)} link is not valid.</p>")


# --- Checkout ------------------------------------------------------------------------------


def _lines(st: Store, session: Obj) -> list[tuple[Obj, int | None]]:
    spec = st.internal_of(session["id"]).get("checkout") or {}
    out = []
    for item in spec.get("items", []):
        price = st.find(item["price"], "price")
        if price:
            qty = item.get("quantity")
            out.append((price, int(qty) if qty not in (None, "") else None))
    return out


def _trial_end(st: Store, session: Obj, now: int) -> int | None:
    data = (st.internal_of(session["id"]).get("checkout") or {}).get("subscription_data") or {}
    if str(data.get("trial_end") or "").isdigit():
        return int(data["trial_end"])
    days = str(data.get("trial_period_days") or "")
    return now + int(days) * DAY if days.isdigit() and int(days) > 0 else None


def _closed(session: Obj) -> str:
    if session["status"] == "complete":
        text = "This Checkout Session is complete: the payment already went through."
        back = link(session["success_url"], "Continue")
    else:
        text = "This Checkout Session has expired. Go back to the site to start a new one."
        back = link(session["cancel_url"], "Back to the site")
    return f"<p>{e(text)}</p><p>{back}</p>"


def checkout(
    st: Store, session: Obj, error: str | None = None, selected: str = "pm_card_visa"
) -> bytes:
    """The Checkout page: plan, prices, trial, amounts, test cards and the Pay form."""
    lines = _lines(st, session)
    names = ", ".join(dict.fromkeys(product_name(st, price) for price, _ in lines))
    title = f"Subscribe to {names}" if names else "Subscribe"
    if session["status"] != "open":
        return page(title, message(error) + _closed(session))
    now = st.customer_now(session["customer"])
    cur = session["currency"]
    rows = "".join(
        f"<tr><td>{e(product_name(st, price))}</td><td>{e(price_text(st, price, qty))}</td></tr>"
        for price, qty in lines
    )
    licensed = [(p, q or 1) for p, q in lines if p["recurring"]["usage_type"] != "metered"]
    recurring = sum(p["unit_amount"] * q for p, q in licensed)
    metered = len(licensed) < len(lines)
    every = interval(lines[0][0]) if lines else "period"
    trial_end = _trial_end(st, session, now)
    due = session["amount_total"] or 0
    first = trial_end or (add_interval(now, *_cycle(lines[0][0]), now) if lines else now)
    summary = []
    if trial_end:
        days = round((trial_end - now) / DAY)
        summary.append(
            f"<p><strong>Free trial: {days} days.</strong> "
            f"Nothing is charged until {e(day(trial_end))}.</p>"
        )
    summary.append(f"<p><strong>Due today: {e(money(due, cur))}</strong></p>")
    after = f"Then {money(recurring, cur)} every {every}" + (" plus usage" if metered else "")
    if metered and not licensed:
        after = f"Then what you use, billed every {every}"
    when = "first charged" if trial_end else "next charged"
    summary.append(f"<p>{e(after)}, {when} on {e(day(first))}.</p>")
    button = f"Pay {money(due, cur)}" if due else "Start trial" if trial_end else "Subscribe"
    email = session["customer_email"] or (st.find(session["customer"], "customer") or {}).get(
        "email"
    )
    body = (
        message(error)
        + (f"<p class='muted'>For {e(email)}</p>" if email else "")
        + f"<table><tr><th>Plan</th><th>Price</th></tr>{rows}</table>"
        + "".join(summary)
        + "<form method='post'>"
        + card_choices(selected, "Pay with a test card")
        + f"<p><button type='submit' id='pay'>{e(button)}</button></p></form>"
        + (f"<p>{link(session['cancel_url'], '← Cancel and go back')}</p>")
    )
    return page(title, body)


def _cycle(price: Obj) -> tuple[str, int]:
    rec = price.get("recurring") or {}
    return str(rec.get("interval") or "month"), int(rec.get("interval_count") or 1)


# --- invoices ------------------------------------------------------------------------------


def invoice(inv: Obj) -> bytes:
    cur = inv["currency"]
    lines = "".join(
        f"<tr><td>{e(ln['description'] or '')}</td><td>{e(money(ln['amount'], cur))}</td></tr>"
        for ln in inv["lines"]["data"]
    )
    return page(
        f"Invoice {inv['number'] or inv['id']}",
        (
            f"<p>Status: <strong>{e(inv['status'])}</strong> · {e(day(inv['created']))}</p>"
            f"<table>{lines}</table>"
            f"<p>Total: {e(money(inv['total'], cur))}; "
            f"amount due {e(money(inv['amount_due'], cur))}; "
            f"paid {e(money(inv['amount_paid'], cur))}</p>"
            f"<p>{link(inv.get('invoice_pdf'), 'Download PDF')}</p>"
        ),
    )


def invoice_pdf(inv: Obj) -> bytes:
    """A minimal valid one-page PDF naming the invoice and its total."""
    text = f"Invoice {inv['number'] or inv['id']} total {inv['total'] / 100:.2f}"
    text = text.replace("\\", "").replace("(", "").replace(")", "")
    stream = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)
