"""No secret reaches the logs: passwords, tokens, Authorization headers, Stripe signatures
and the webhook secret go through the app (successes, 4xx and a 500) with the production
JSON logging capturing everything at DEBUG, and none of them is in the output."""

import json
import logging
import time
from typing import Any

import pytest
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts.models import Role
from saas.observability.logging import redact
from stripe_emulator.webhooks import sign
from tests.factories import make_user
from tests.support.observability import json_logs

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-Battery-917"
WRONG_PASSWORD = "Wrong-Horse-Battery-404"
WEBHOOK_SECRET = "whsec_redaction_test_5f2a9c"
WEBHOOK_URL = "/api/v1/billing/stripe/webhook/"


@pytest.fixture
def webhook_secret(settings: Any) -> str:
    settings.STRIPE_WEBHOOK_SECRETS = [WEBHOOK_SECRET]
    return WEBHOOK_SECRET


def _webhook(client: APIClient, body: str, signature: str) -> int:
    response = client.post(
        WEBHOOK_URL, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )
    return response.status_code


def test_secrets_sent_to_the_app_never_reach_the_logs(
    make_tenant, make_member, webhook_secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = make_tenant("acme")
    make_tenant("beta")  # the token below is refused on its host
    owner = make_member(acme, Role.OWNER, user=make_user(password=PASSWORD))
    tenant = APIClient(HTTP_HOST="acme.localhost")
    public = APIClient(HTTP_HOST="localhost")
    event = {"id": "evt_redaction_1", "object": "event", "type": "ping", "livemode": False}
    body = json.dumps({**event, "created": int(time.time()), "data": {"object": {}}})
    good_signature = sign(body, webhook_secret, int(time.time()))
    bad_signature = sign(body + " ", webhook_secret, int(time.time()))

    with json_logs() as logs:
        login = tenant.post(
            "/api/v1/auth/login/", {"email": owner.email, "password": PASSWORD}, format="json"
        )
        assert login.status_code == 200, login.content
        access, refresh = login.json()["access"], login.json()["refresh"]
        wrong = {"email": owner.email, "password": WRONG_PASSWORD}
        assert tenant.post("/api/v1/auth/login/", wrong, format="json").status_code in (400, 401)
        malformed = f'{{"email": "{owner.email}", "password": "{PASSWORD}"'
        assert (
            tenant.post(
                "/api/v1/auth/login/", malformed, content_type="application/json"
            ).status_code
            == 400
        )
        authed = APIClient(HTTP_HOST="acme.localhost")
        authed.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        elsewhere = APIClient(HTTP_HOST="beta.localhost")
        elsewhere.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        assert authed.get("/api/v1/projects/").status_code == 200
        # The token is acme's: refused on beta's host, and logged as a 401/403 there.
        assert elsewhere.get("/api/v1/projects/").status_code in (401, 403)
        refreshed = tenant.post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")
        assert refreshed.status_code == 200
        forged = tenant.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Bearer {webhook_secret}")
        assert forged.status_code == 401
        assert authed.get("/api/v1/nowhere/").status_code == 404
        change = {"old_password": WRONG_PASSWORD, "new_password1": "x", "new_password2": "y"}
        assert (
            authed.post("/api/v1/auth/password/change/", change, format="json").status_code == 400
        )
        assert _webhook(public, body, bad_signature) == 400
        assert _webhook(public, body, f"t=1,v1=deadbeef,secret={webhook_secret}") == 400
        assert _webhook(public, body, good_signature) == 200

        # A 500 whose exception message quotes secrets: the traceback is logged, redacted.
        def explode(*args: object, **kwargs: object) -> None:
            raise RuntimeError(
                f"upstream said Authorization: Bearer {access} password={PASSWORD} "
                f"secret {webhook_secret}"
            )

        monkeypatch.setattr(APIView, "initial", explode)
        assert authed.get("/api/v1/projects/").status_code == 500

    output = logs.text
    records = logs.records()
    statuses = {r.get("status") for r in records if r["logger"] == "saas.access"}
    assert {200, 400, 401, 404, 500} <= statuses  # the requests were logged
    assert any(r["logger"] == "django.request" for r in records)
    assert any("RuntimeError" in r.get("exception", "") for r in records)
    assert "upstream said Authorization: [REDACTED]" in output  # logged, scrubbed
    for secret in (
        PASSWORD,
        WRONG_PASSWORD,
        access,
        refresh,
        webhook_secret,
        good_signature,
        bad_signature,
        good_signature.split("v1=")[1],
        bad_signature.split("v1=")[1],
    ):
        assert secret not in output, secret
    assert access.split(".")[2] not in output  # not even the JWT's signature part


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        ("headers {'Authorization': 'Bearer abc.def.ghi'}", "abc.def.ghi"),
        ("HTTP_AUTHORIZATION=Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ('body {"email": "a@b.c", "password": "hunter2-hunter2"}', "hunter2-hunter2"),
        ("form new_password1=s3cret-value&x=1", "s3cret-value"),
        ("Stripe-Signature: t=1700000000,v1=0a1b2c3d4e", "0a1b2c3d4e"),
        ("key sk_live_51Habcdef0123 used", "sk_live_51Habcdef0123"),
        ("refresh=eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl", "c2lnbmF0dXJl"),
        ("cookie: sessionid=abcdef0123456789", "abcdef0123456789"),
        ("sent scim_Zx3kP9q-Lm2Nb7Vc4Rt8Yw1Ee5_Ab0Cd1Ef2Gh3Ij4Kl5Mn", "Zx3kP9q-Lm2Nb7Vc4Rt8"),
    ],
)
def test_redaction_of_secret_shapes(message: str, secret: str) -> None:
    assert secret not in redact(message)
    assert "[REDACTED]" in redact(message)


def test_configured_secrets_are_redacted_wherever_they_appear(settings: Any) -> None:
    settings.METRICS_TOKEN = "plain-looking-metrics-token-42"
    with json_logs() as logs:
        logging.getLogger("tests.redaction").warning(
            "scraping with %s",
            "plain-looking-metrics-token-42",
            extra={"note": settings.SECRET_KEY},
        )
    assert "plain-looking-metrics-token-42" not in logs.text
    assert settings.SECRET_KEY not in logs.text
    assert logs.records()[0]["message"] == "scraping with [REDACTED]"


def test_the_sso_encryption_key_is_redacted_wherever_it_appears(settings: Any) -> None:
    settings.SSO_ENCRYPTION_KEY = "plain-looking-sso-encryption-key-7"
    with json_logs() as logs:
        logging.getLogger("tests.redaction").warning(
            "decrypting with %s", "plain-looking-sso-encryption-key-7"
        )
    assert "plain-looking-sso-encryption-key-7" not in logs.text
    assert logs.records()[0]["message"] == "decrypting with [REDACTED]"
