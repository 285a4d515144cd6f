"""The landing pages behind every link we send: served on the organization's host (never a
JSON 404), posting to API endpoints that exist, locked down (CSP with the one script's hash,
no referrer, no caching), and not served on the public host or another path."""

import re

import pytest
from django.urls import Resolver404, resolve

from saas.security import script_hashes

PAGES = [
    "/invitations/tok_abc-123",
    "/reset-password/MQ/abc-123def",
    "/billing?checkout=success",
    "/billing?checkout=canceled",
    "/billing",
]


@pytest.mark.parametrize("path", PAGES)
def test_each_landing_page_is_served_on_the_tenant_host(make_tenant, client_for, path) -> None:
    tenant = make_tenant("acme")
    response = client_for(tenant).get(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "Acme" in response.content.decode()
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    for digest in script_hashes(response.content):
        assert digest in policy
    assert "http" not in policy  # nothing from another origin


@pytest.mark.parametrize("path", ["/invitations/tok_abc", "/reset-password/MQ/abc"])
def test_forms_post_to_api_endpoints_that_exist(make_tenant, client_for, path) -> None:
    tenant = make_tenant("acme")
    html = client_for(tenant).get(path).content.decode()
    api = re.search(r'data-api="([^"]+)"', html)
    assert api is not None
    resolve(api.group(1), urlconf="config.urls_tenants")  # raises if no such endpoint


def test_the_checkout_outcome_is_said_in_words(make_tenant, client_for) -> None:
    client = client_for(make_tenant("acme"))
    assert "payment went through" in client.get("/billing?checkout=success").content.decode()
    assert "Nothing was charged" in client.get("/billing?checkout=canceled").content.decode()
    junk = client.get("/billing?checkout=<script>").content.decode()
    assert "<script>" not in junk.split("<h1>")[1]


def test_the_token_in_a_page_is_escaped(make_tenant, client_for) -> None:
    html = client_for(make_tenant("acme")).get('/reset-password/MQ/a"b<c').content.decode()
    assert 'a"b<c' not in html


def test_pages_are_not_on_the_public_host(db, client_for) -> None:
    assert client_for(None).get("/billing").status_code == 404
    with pytest.raises(Resolver404):
        resolve("/billing", urlconf="config.urls_public")
