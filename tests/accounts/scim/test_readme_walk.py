"""The README's SCIM walk, step by step, on the demo organization `make run` seeds (its
Starter trial through the offline Stripe): the owner moves it to Pro, makes a SCIM token,
and the token provisions, promotes and deactivates a person."""

import io

from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import Membership, Role
from billing.models import BillingAccount
from stripe_emulator.server import EmulatorServer
from tests.support.scim import PATCH_SCHEMA, USER_SCHEMA, assert_scim_error

HOST = "demo.localhost"


def test_the_readme_walk(committed: None, stripe_emulator: EmulatorServer) -> None:
    call_command("billing_sync_catalog", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    api = APIClient(HTTP_HOST=HOST)
    login = api.post(
        "/api/v1/auth/login/",
        {"email": "demo@example.com", "password": "demo-password-2026"},
        format="json",
    )
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")
    changed = api.post(
        "/api/v1/billing/subscription/change/", {"price": "pro-monthly"}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert BillingAccount.objects.get(tenant__slug="demo").plan.code == "pro"
    made = api.post("/api/v1/scim/tokens/", {"name": "Okta"}, format="json")
    assert made.status_code == 201, made.content

    scim = APIClient(HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Bearer {made.json()['token']}")
    user = {
        "schemas": [USER_SCHEMA],
        "userName": "ada@example.com",
        "externalId": "00u1",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
    }
    created = scim.post("/scim/v2/Users", user, format="json")
    assert created.status_code == 201, created.content
    found = scim.get("/scim/v2/Users", {"filter": 'userName eq "ada@example.com"'}).json()
    person = found["Resources"][0]["id"]
    add = {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": person}]}],
    }
    assert scim.patch("/scim/v2/Groups/admin", add, format="json").status_code == 200
    assert Membership.objects.get(tenant__slug="demo", user_id=int(person)).role == Role.ADMIN
    off = {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    }
    patched = scim.patch(f"/scim/v2/Users/{person}", off, format="json")
    assert patched.json()["active"] is False
    assert not Membership.objects.filter(tenant__slug="demo", user_id=int(person)).exists()
    refused = scim.get("/scim/v2/Users", {"filter": 'userName eq "x" or "1" eq "1"'})
    assert_scim_error(refused, 400, "invalidFilter")
