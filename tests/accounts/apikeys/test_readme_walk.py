"""The README's API key walk, step by step, on the demo organization `make run` seeds (its
Starter trial includes `api`): the owner makes a read-only key, reads with it, is refused a
write, rotates it with an hour's overlap and revokes the old key."""

import io

from django.core.management import call_command
from rest_framework.test import APIClient

from stripe_emulator.server import EmulatorServer
from tests.support.http import assert_error

HOST = "demo.localhost"


def _with(raw: str) -> APIClient:
    return APIClient(HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_the_readme_walk(committed: None, stripe_emulator: EmulatorServer) -> None:
    call_command("billing_sync_catalog", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    login = APIClient(HTTP_HOST=HOST).post(
        "/api/v1/auth/login/",
        {"email": "demo@example.com", "password": "demo-password-2026"},
        format="json",
    )
    owner = _with(login.json()["access"])
    made = owner.post(
        "/api/v1/api-keys/", {"name": "Nightly export", "scopes": ["read"]}, format="json"
    )
    assert made.status_code == 201, made.content
    key = _with(made.json()["key"])
    assert key.get("/api/v1/projects/").status_code == 200
    assert_error(key.post("/api/v1/projects/", {"name": "No"}, format="json"), 403)
    key_id = owner.get("/api/v1/api-keys/").json()["results"][0]["id"]
    rotated = owner.post(
        f"/api/v1/api-keys/{key_id}/rotate/", {"overlap_seconds": 3600}, format="json"
    )
    assert rotated.status_code == 201, rotated.content
    assert owner.delete(f"/api/v1/api-keys/{key_id}/").status_code == 204
    assert_error(key.get("/api/v1/projects/"), 401, "api_key_invalid")
    assert _with(rotated.json()["key"]).get("/api/v1/projects/").status_code == 200
