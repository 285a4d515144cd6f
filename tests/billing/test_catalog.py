"""The plan catalog: defaults in the database, pushed to Stripe idempotently."""

from billing.models import Plan, Price
from billing.services.catalog import catalog_seed_defaults, catalog_sync_to_stripe


def test_default_plans_exist_after_migrate(db) -> None:
    assert list(Plan.objects.values_list("code", flat=True)) == ["free", "starter", "pro", "scale"]
    assert Price.objects.get(lookup_key="starter-monthly").amount == 900
    assert Price.objects.get(lookup_key="scale-usage").metered


def test_sync_creates_products_and_prices_then_changes_nothing(db, stripe_emulator, sdk) -> None:
    first = catalog_sync_to_stripe()
    assert sorted(first.created) == sorted(Price.objects.values_list("lookup_key", flat=True))
    events_after_first = len(sdk.Event.list(limit=100).data)

    second = catalog_sync_to_stripe()

    assert second.created == second.replaced == second.retired == []
    assert sorted(second.unchanged) == sorted(first.created)
    assert len(sdk.Event.list(limit=100).data) == events_after_first  # no Stripe write at all
    remote = sdk.Price.list(lookup_keys=["pro-monthly"], limit=10).data
    assert [(p.unit_amount, p.currency, p.recurring.interval) for p in remote] == [
        (1900, "usd", "month")
    ]
    assert Price.objects.get(lookup_key="pro-monthly").stripe_price_id == remote[0].id
    assert sdk.Product.retrieve("prod_saas_pro").name == "Pro"


def test_a_changed_amount_replaces_the_stripe_price_under_the_same_lookup_key(
    db, stripe_emulator, sdk
) -> None:
    catalog_sync_to_stripe()
    old_id = Price.objects.get(lookup_key="pro-monthly").stripe_price_id
    Price.objects.filter(lookup_key="pro-monthly").update(amount=2100)

    report = catalog_sync_to_stripe()

    assert report.replaced == ["pro-monthly"]
    new_id = Price.objects.get(lookup_key="pro-monthly").stripe_price_id
    assert new_id != old_id
    assert sdk.Price.retrieve(old_id).active is False
    [current] = sdk.Price.list(lookup_keys=["pro-monthly"], limit=10).data
    assert (current.id, current.unit_amount) == (new_id, 2100)
    assert catalog_sync_to_stripe().replaced == []


def test_seeding_again_changes_nothing(db) -> None:
    before = list(Price.objects.order_by("id").values_list("id", "lookup_key", "amount"))
    catalog_seed_defaults()
    assert list(Price.objects.order_by("id").values_list("id", "lookup_key", "amount")) == before


def test_plans_are_listed_publicly_with_prices(db, client_for) -> None:
    Plan.objects.filter(code="scale").update(public=False)
    body = client_for(None).get("/api/v1/plans/").json()["results"]
    assert [p["code"] for p in body] == ["free", "starter", "pro"]
    starter = body[1]
    assert starter["seats_limit"] == 10
    assert {p["lookup_key"]: p["amount"] for p in starter["prices"]} == {
        "starter-monthly": 900,
        "starter-yearly": 9000,
    }


def test_plans_are_not_served_on_tenant_hosts(db, client_for, make_tenant) -> None:
    assert client_for(make_tenant("acme")).get("/api/v1/plans/").status_code == 404


def test_an_amount_changed_back_within_a_day_makes_a_new_active_price(
    db, stripe_emulator, sdk, make_tenant, make_member, client_for
) -> None:
    """9000 -> 9900 -> 9000 with a sync after each: the third sync used to replay the first
    price's creation (same idempotency key within Stripe's 24 hours), leaving the retired
    price in use and Checkout refusing it as inactive."""
    Price.objects.filter(lookup_key="starter-yearly").update(amount=9000)
    catalog_sync_to_stripe()
    first = Price.objects.get(lookup_key="starter-yearly").stripe_price_id
    for amount in (9900, 9000):
        Price.objects.filter(lookup_key="starter-yearly").update(amount=amount)
        catalog_sync_to_stripe()

    current = Price.objects.get(lookup_key="starter-yearly").stripe_price_id
    assert current != first
    remote = sdk.Price.retrieve(current)
    assert (remote.active, remote.unit_amount, remote.lookup_key) == (True, 9000, "starter-yearly")
    tenant = make_tenant("acme")
    client = client_for(tenant, make_member(tenant, role="owner"))
    response = client.post("/api/v1/billing/checkout/", {"price": "starter-yearly"}, format="json")
    assert response.status_code == 201, response.json()


def test_a_product_renamed_back_within_a_day_is_renamed_at_stripe(db, stripe_emulator, sdk) -> None:
    catalog_sync_to_stripe()
    for name in ("Pro Plus", "Pro", "Pro Plus"):
        Plan.objects.filter(code="pro").update(name=name)
        catalog_sync_to_stripe()
        assert sdk.Product.retrieve("prod_saas_pro").name == name
