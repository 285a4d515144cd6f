"""Customers, products, prices, payment methods and charges."""

from __future__ import annotations

import secrets

from .. import payments
from ..errors import StripeError, invalid, missing
from ..fixtures import build, shape
from ..params import Params, apply_metadata, as_list, nested, req, set_fields, to_bool, to_int
from ..routing import route
from ..store import Obj, Store

# --- customers -----------------------------------------------------------------------------


@route("POST", "/v1/customers")
def create_customer(st: Store, p: Params) -> Obj:
    clock = p.get("test_clock") or None
    if clock:
        st.get(clock, "test_helpers.test_clock", "test_clock")
    c = build(
        "customer",
        nulls="currency default_source discount email name phone shipping description",
        empty="preferred_locales",
        balance=to_int(p, "balance", 0),
        id=st.new_id("cus"),
        created=st.now(clock),
        delinquent=False,
        invoice_prefix=secrets.token_hex(4).upper(),
        next_invoice_sequence=1,
        tax_exempt="none",
        test_clock=clock,
    )
    c["address"] = dict.fromkeys(c["address"])
    c["invoice_settings"] = {
        "custom_fields": None,
        "default_payment_method": None,
        "footer": None,
        "rendering_options": None,
    }
    st.put(c)
    _apply_customer(st, c, p)
    st.emit("customer.created", c)
    return c


def _apply_customer(st: Store, c: Obj, p: Params) -> None:
    set_fields(c, p, "email", "name", "description", "phone")
    apply_metadata(c, p)
    if isinstance(p.get("address"), dict):
        c["address"] = {k: p["address"].get(k, v) for k, v in c["address"].items()}
    if p.get("payment_method"):
        payments.resolve(st, p["payment_method"], c, "payment_method")
    settings = p.get("invoice_settings")
    if isinstance(settings, dict) and "default_payment_method" in settings:
        c["invoice_settings"]["default_payment_method"] = default_pm(
            st, c, settings["default_payment_method"], "invoice_settings[default_payment_method]"
        )


def default_pm(st: Store, customer: Obj, value: str, param: str) -> str | None:
    """A payment method that must belong to the customer (test ids are attached on the fly)."""
    if not value:
        return None
    pm = payments.resolve(st, value, customer if payments.card_named(value) else None, param)
    if pm["customer"] != customer["id"]:
        raise invalid(
            param,
            f"The customer does not have a payment method with the ID "
            f"{value}. The payment method must be attached to the customer.",
        )
    return str(pm["id"])


@route("GET", "/v1/customers/{id}")
def get_customer(st: Store, p: Params, cid: str) -> Obj:
    return st.get(cid, "customer")


@route("POST", "/v1/customers/{id}")
def update_customer(st: Store, p: Params, cid: str) -> Obj:
    c = st.get(cid, "customer")
    before = st.render(c)
    _apply_customer(st, c, p)
    st.changed(c, before, "customer.updated")
    return c


@route("DELETE", "/v1/customers/{id}")
def delete_customer(st: Store, p: Params, cid: str) -> Obj:
    c = st.get(cid, "customer")
    for sub in st.all("subscription", customer=cid):
        if sub["status"] not in ("canceled", "incomplete_expired"):
            sub.update(
                status="canceled",
                canceled_at=st.now(c["test_clock"]),
                ended_at=st.now(c["test_clock"]),
            )
            st.emit("customer.subscription.deleted", sub)
    del st.objects[cid]
    st.emit("customer.deleted", c)
    return {**shape("deleted_customer"), "id": cid}


@route("GET", "/v1/customers")
def list_customers(st: Store, p: Params) -> Obj:
    match = {k: p[k] for k in ("email", "test_clock") if p.get(k)}
    return st.paginate(st.all("customer", **match), p, "/v1/customers")


# --- products ------------------------------------------------------------------------------


@route("POST", "/v1/products")
def create_product(st: Store, p: Params) -> Obj:
    if p.get("id") and p["id"] in st.objects:
        raise StripeError(
            400, f"Product already exists: {p['id']}", code="resource_already_exists", param="id"
        )
    now = st.now()
    prod = build(
        "product",
        nulls="default_price description package_dimensions shippable statement_descriptor "
        "tax_code unit_label url",
        empty="images marketing_features",
        id=p.get("id") or st.new_id("prod"),
        name=req(p, "name"),
        created=now,
        updated=now,
        type=p.get("type", "service"),
        active=to_bool(p, "active", True),
    )
    _apply_product(prod, p)
    st.put(prod)
    st.emit("product.created", prod)
    if isinstance(p.get("default_price_data"), dict):
        price = create_price(st, {**p["default_price_data"], "product": prod["id"]})
        prod["default_price"] = price["id"]
    return prod


def _apply_product(prod: Obj, p: Params) -> None:
    set_fields(
        prod, p, "name", "description", "statement_descriptor", "unit_label", "url", "tax_code"
    )
    prod["active"] = to_bool(p, "active", prod["active"])
    if "images" in p:
        prod["images"] = as_list(p, "images")
    apply_metadata(prod, p)


@route("GET", "/v1/products/{id}")
def get_product(st: Store, p: Params, pid: str) -> Obj:
    return st.get(pid, "product")


@route("POST", "/v1/products/{id}")
def update_product(st: Store, p: Params, pid: str) -> Obj:
    prod = st.get(pid, "product")
    before = st.render(prod)
    _apply_product(prod, p)
    if "default_price" in p:
        prod["default_price"] = (
            st.get(p["default_price"], "price", "default_price")["id"]
            if p["default_price"]
            else None
        )
    prod["updated"] = st.now()
    st.changed(prod, before, "product.updated")
    return prod


@route("DELETE", "/v1/products/{id}")
def delete_product(st: Store, p: Params, pid: str) -> Obj:
    prod = st.get(pid, "product")
    if st.all("price", product=pid):
        raise StripeError(
            400,
            "This product cannot be deleted because it has one or more user-created prices.",
        )
    del st.objects[pid]
    st.emit("product.deleted", prod)
    return {**shape("deleted_product"), "id": pid}


@route("GET", "/v1/products")
def list_products(st: Store, p: Params) -> Obj:
    products = st.all("product")
    if p.get("active") not in (None, ""):
        products = [x for x in products if x["active"] == to_bool(p, "active")]
    if as_list(p, "ids"):
        products = [x for x in products if x["id"] in as_list(p, "ids")]
    return st.paginate(products, p, "/v1/products")


# --- prices --------------------------------------------------------------------------------


@route("POST", "/v1/prices")
def create_price(st: Store, p: Params) -> Obj:
    if isinstance(p.get("product_data"), dict):
        product = create_product(st, {**p["product_data"], "name": req(p["product_data"], "name")})
    else:
        product = st.get(req(p, "product"), "product", "product")
    if p.get("billing_scheme", "per_unit") != "per_unit":
        raise invalid("billing_scheme", "The emulator supports billing_scheme=per_unit only.")
    amount = (
        to_int(p, "unit_amount")
        if p.get("unit_amount") not in (None, "")
        else round(float(req(p, "unit_amount_decimal")))
    )
    price = build(
        "price",
        nulls="custom_unit_amount lookup_key nickname tiers_mode transform_quantity recurring",
        id=st.new_id("price", 24),
        product=product["id"],
        currency=req(p, "currency"),
        unit_amount=amount,
        unit_amount_decimal=str(amount),
        created=st.now(),
        billing_scheme="per_unit",
        active=to_bool(p, "active", True),
        tax_behavior=p.get("tax_behavior", "unspecified"),
        type="one_time",
    )
    if isinstance(p.get("recurring"), dict):
        price.update(type="recurring", recurring=_recurring(st, p["recurring"]))
    _apply_price(st, price, p)
    st.put(price)
    st.emit("price.created", price)
    return price


def _recurring(st: Store, r: Params) -> Obj:
    interval = r.get("interval")
    if not interval:
        raise missing("recurring[interval]")
    if interval not in ("day", "week", "month", "year"):
        raise invalid("recurring[interval]")
    usage = r.get("usage_type", "licensed")
    meter = r.get("meter") or None
    if usage == "metered":
        if not meter:
            raise invalid("recurring[meter]", "A meter is required for metered prices.")
        st.get(meter, "billing.meter", "recurring[meter]")
    return {
        "interval": interval,
        "interval_count": to_int(r, "interval_count", 1),
        "meter": meter,
        "usage_type": usage,
        "trial_period_days": to_int(r, "trial_period_days"),
    }


def _apply_price(st: Store, price: Obj, p: Params) -> None:
    set_fields(price, p, "nickname")
    price["active"] = to_bool(p, "active", price["active"])
    apply_metadata(price, p)
    key = p.get("lookup_key")
    if key:
        holders = [x for x in st.all("price", lookup_key=key) if x["id"] != price["id"]]
        if holders and not to_bool(p, "transfer_lookup_key", False):
            raise invalid(
                "lookup_key",
                f"A price (`{holders[0]['id']}`) already uses that "
                "lookup key. Pass transfer_lookup_key=true to move it.",
            )
        for old in holders:
            before = st.render(old)
            old["lookup_key"] = None
            st.changed(old, before, "price.updated")
    if key is not None:
        price["lookup_key"] = key or None


@route("GET", "/v1/prices/{id}")
def get_price(st: Store, p: Params, pid: str) -> Obj:
    return st.get(pid, "price")


@route("POST", "/v1/prices/{id}")
def update_price(st: Store, p: Params, pid: str) -> Obj:
    price = st.get(pid, "price")
    before = st.render(price)
    _apply_price(st, price, p)
    st.changed(price, before, "price.updated")
    return price


@route("GET", "/v1/prices")
def list_prices(st: Store, p: Params) -> Obj:
    prices = st.all("price", **{k: p[k] for k in ("product", "currency", "type") if p.get(k)})
    if p.get("active") not in (None, ""):
        prices = [x for x in prices if x["active"] == to_bool(p, "active")]
    if as_list(p, "lookup_keys"):
        prices = [x for x in prices if x["lookup_key"] in as_list(p, "lookup_keys")]
    rec = nested(p, "recurring")
    for key, value in rec.items():
        prices = [x for x in prices if (x["recurring"] or {}).get(key) == value]
    return st.paginate(prices, p, "/v1/prices")


# --- payment methods -----------------------------------------------------------------------


@route("POST", "/v1/payment_methods")
def create_payment_method(st: Store, p: Params) -> Obj:
    if p.get("type", "card") != "card":
        raise invalid("type", "The emulator supports card payment methods only.")
    card = nested(p, "card")
    if card.get("token"):
        test_card = payments.card_named(card["token"])
        if test_card is None:
            raise invalid("card[token]", f"No such token: '{card['token']}'")
    else:
        test_card = payments.card_for_number(req(card, "number") if card else req(p, "card"))
    pm = payments.new_payment_method(st, test_card, st.now())
    apply_metadata(pm, p)
    return pm


@route("GET", "/v1/payment_methods/{id}")
def get_payment_method(st: Store, p: Params, pm_id: str) -> Obj:
    return (
        payments.resolve(st, pm_id, None, "id")
        if payments.card_named(pm_id)
        else st.get(pm_id, "payment_method")
    )


@route("POST", "/v1/payment_methods/{id}")
def update_payment_method(st: Store, p: Params, pm_id: str) -> Obj:
    pm = st.get(pm_id, "payment_method")
    before = st.render(pm)
    apply_metadata(pm, p)
    st.changed(pm, before, "payment_method.updated")
    return pm


@route("POST", "/v1/payment_methods/{id}/attach")
def attach_payment_method(st: Store, p: Params, pm_id: str) -> Obj:
    customer = st.get(req(p, "customer"), "customer", "customer")
    return payments.resolve(st, pm_id, customer, "id")


@route("POST", "/v1/payment_methods/{id}/detach")
def detach_payment_method(st: Store, p: Params, pm_id: str) -> Obj:
    pm = st.get(pm_id, "payment_method")
    customer = st.find(pm["customer"], "customer")
    if customer and customer["invoice_settings"]["default_payment_method"] == pm_id:
        before = st.render(customer)
        customer["invoice_settings"]["default_payment_method"] = None
        st.changed(customer, before, "customer.updated")
    pm["customer"] = None
    st.emit("payment_method.detached", pm)
    return pm


@route("GET", "/v1/payment_methods")
def list_payment_methods(st: Store, p: Params) -> Obj:
    match = {k: p[k] for k in ("customer", "type") if p.get(k)}
    return st.paginate(st.all("payment_method", **match), p, "/v1/payment_methods")


@route("GET", "/v1/customers/{id}/payment_methods")
def list_customer_payment_methods(st: Store, p: Params, cid: str) -> Obj:
    st.get(cid, "customer")
    return list_payment_methods(st, {**p, "customer": cid})


# --- charges -------------------------------------------------------------------------------


@route("GET", "/v1/charges/{id}")
def get_charge(st: Store, p: Params, charge_id: str) -> Obj:
    """Charges are made by paying invoices (payments.charge); a dispute names only its charge."""
    return st.get(charge_id, "charge")
