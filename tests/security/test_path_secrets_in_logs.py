"""Secrets that travel in URL paths (invitation tokens, password-reset uid/token) never reach
the logs, whatever answers the request: every 4xx an invitation link can get while it stays
usable (weak password, wrong password, seat limit, already a member, throttled, wrong host),
the landing pages, and a 500. Django's request logger is turned up to DEBUG here, as an
operator might, so its "Bad Request: /path" lines are written and must be redacted."""

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts.models import Role
from accounts.services import invitation_create
from tests.factories import PASSWORD, make_user
from tests.support.observability import json_logs

pytestmark = pytest.mark.django_db


@pytest.fixture
def django_request_at_debug() -> Iterator[None]:
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    yield
    logger.setLevel(level)


@pytest.fixture
def invite(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Invites and returns the token the emailed link would carry."""
    import accounts.services as services

    sent: dict[str, Any] = {}
    monkeypatch.setattr(services, "email_send_later", lambda **kwargs: sent.update(kwargs))

    def invite(tenant: Any, admin: Any, email: str) -> str:
        host = f"{tenant.slug}.localhost"
        invitation_create(
            tenant=tenant, by=admin, by_role=Role.ADMIN, email=email, role=Role.MEMBER, host=host
        )
        return str(sent["context"]["url"]).rsplit("/", 1)[1]

    return invite


def test_invitation_and_reset_tokens_in_paths_are_never_logged(
    make_tenant, make_member, invite, tight_rates, django_request_at_debug, monkeypatch
) -> None:
    acme, beta = make_tenant("acme"), make_tenant("beta")
    admin = make_member(acme, Role.ADMIN)
    existing = make_user(password=PASSWORD)
    make_member(beta, Role.MEMBER, user=existing)
    fresh = invite(acme, admin, "new.person@example.com")
    for_existing = invite(acme, admin, existing.email)
    uid = urlsafe_base64_encode(force_bytes(existing.pk))
    reset = default_token_generator.make_token(existing)
    on_acme, on_beta = APIClient(HTTP_HOST="acme.localhost"), APIClient(HTTP_HOST="beta.localhost")

    def accept(client: APIClient, token: str, password: str) -> int:
        url = f"/api/v1/invitations/{token}/accept/"
        return client.post(url, {"password": password}, format="json").status_code

    with json_logs() as logs:
        assert accept(on_acme, fresh, "123") == 400  # weak password
        assert accept(on_acme, for_existing, "not-their-password-at-all") == 401
        assert accept(on_beta, fresh, "a-long-fresh-password-1") == 404  # another host
        assert on_acme.get(f"/invitations/{fresh}").status_code == 200  # the landing page
        assert on_beta.get(f"/invitations/{fresh}").status_code in (200, 404)
        assert on_acme.get(f"/reset-password/{uid}/{reset}").status_code == 200
        assert on_acme.get(f"/reset-password/{uid}/{reset}/extra").status_code == 404
        make_member(acme, Role.MEMBER, user=existing)  # joined meanwhile, another way
        assert accept(on_acme, for_existing, PASSWORD) == 409
        make_member(acme, Role.MEMBER)  # Free's third seat: no room for the invitee
        assert accept(on_acme, fresh, "a-long-fresh-password-1") == 402
        tight_rates["invitations_ip"] = "1/min"
        codes = [accept(on_acme, fresh, "a-long-fresh-password-1") for _ in range(3)]
        assert 429 in codes

        def explode(*args: object, **kwargs: object) -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr(APIView, "initial", explode)
        assert accept(on_acme, fresh, "a-long-fresh-password-1") == 500

    records = logs.records()
    logged_paths = [r["message"] for r in records if r["logger"] == "django.request"]
    assert any("/invitations/[REDACTED]/accept/" in m for m in logged_paths), logged_paths
    statuses = {r.get("status") for r in records if r["logger"] == "saas.access"}
    assert {400, 401, 402, 404, 409, 429, 500} <= statuses
    for secret in (fresh, for_existing, reset):
        assert secret not in logs.text
