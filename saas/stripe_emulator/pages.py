"""Tiny HTML stand-ins for Stripe-hosted pages: Checkout, billing portal, invoices."""

from __future__ import annotations

from html import escape

from .payments import CARDS
from .store import Obj, Store

_STYLE = "body{font-family:sans-serif;max-width:40em;margin:2em auto}"


def page(title: str, body: str) -> bytes:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{body}"
        "</body></html>"
    ).encode()


def checkout(st: Store, session: Obj) -> bytes:
    if session["status"] != "open":
        return page("Checkout", f"<p>This session is {escape(session['status'])}.</p>")
    options = "".join(
        f"<option value='pm_card_{name}'>{name} (…{card.last4})</option>"
        for name, card in CARDS.items()
    )
    total = f"{(session['amount_total'] or 0) / 100:.2f} {session['currency'].upper()}"
    cancel = escape(session["cancel_url"] or "#")
    return page(
        "Stripe emulator Checkout",
        (
            f"<p>Subscribe: {escape(total)} for the first period.</p>"
            f"<form method='post'><label>Test card <select name='payment_method'>{options}"
            "</select></label> <button type='submit'>Subscribe</button></form>"
            f"<p><a href='{cancel}'>Cancel</a></p>"
        ),
    )


def portal(st: Store, session: Obj) -> bytes:
    subs = st.all("subscription", customer=session["customer"])
    rows = "".join(f"<li>{escape(s['id'])}: {escape(s['status'])}</li>" for s in subs)
    back = escape(session["return_url"] or "#")
    return page(
        "Billing portal",
        f"<ul>{rows or '<li>No subscriptions</li>'}</ul><p><a href='{back}'>Return</a></p>",
    )


def invoice(inv: Obj) -> bytes:
    lines = "".join(
        f"<li>{escape(ln['description'] or '')}: {ln['amount'] / 100:.2f}</li>"
        for ln in inv["lines"]["data"]
    )
    return page(
        f"Invoice {inv['number'] or inv['id']}",
        (
            f"<p>Status: {escape(inv['status'])}</p><ul>{lines}</ul>"
            f"<p>Total: {inv['total'] / 100:.2f} {inv['currency'].upper()}; "
            f"amount due {inv['amount_due'] / 100:.2f}</p>"
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
