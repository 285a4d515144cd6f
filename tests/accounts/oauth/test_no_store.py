"""Registering an OAuth application answers its client secret, once: that answer must not be
stored by any cache, like /o/token/'s (RFC 6749 section 5.1)."""

import pytest
from django.test import Client

from tests.support.http import assert_no_store
from tests.support.oauth import PUBLIC, REDIRECT_URI, form_post

pytestmark = pytest.mark.usefixtures("signup_plan_includes_api")


def test_registering_an_oauth_application_is_not_stored(db, client_for, make_tenant, make_member):
    tenant = make_tenant("acme")
    admin = make_member(tenant, role="admin")
    body = {
        "name": "Calendar sync",
        "grant_type": "authorization-code",
        "redirect_uris": [REDIRECT_URI],
    }

    response = client_for(tenant, admin).post("/api/v1/oauth/applications/", body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["client_secret"]
    assert_no_store(response)


def test_the_oauth_token_endpoint_does_the_same(db, make_tenant, make_member, register_app):
    tenant = make_tenant("acme")
    app = register_app(tenant, make_member(tenant, role="admin"))

    response = form_post(
        Client(HTTP_HOST=PUBLIC),
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "read"},
        HTTP_AUTHORIZATION=app.basic,
    )

    assert response.status_code == 200
    assert_no_store(response)
