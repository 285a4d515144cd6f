"""Checkout and billing portal links are bearer links to the organization's billing (anyone
holding a portal link manages the subscription until it expires): their answers must not be
stored by any cache, like every answer carrying a credential (tests/accounts/test_no_store.py)."""

from tests.support.http import assert_no_store


def test_checkout_and_portal_links_are_not_stored(
    make_tenant, make_member, client_for, catalog
) -> None:
    tenant = make_tenant("acme")
    client = client_for(tenant, make_member(tenant, role="billing"))

    checkout = client.post("/api/v1/billing/checkout/", {"price": "starter-monthly"}, format="json")
    portal = client.post("/api/v1/billing/portal/")

    assert checkout.status_code == 201, checkout.json()
    assert_no_store(checkout)
    assert portal.status_code == 201, portal.json()
    assert_no_store(portal)
