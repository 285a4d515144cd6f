"""Helpers for the OAuth2 provider tests: register applications, drive /o/ in process."""

import base64
import hashlib
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import OAuthApplication, Role, User
from accounts.oauth.services import oauth_application_create
from billing.models import Plan
from tenants.models import Tenant

REDIRECT_URI = "http://127.0.0.1:8765/callback"
PUBLIC = settings.BASE_DOMAIN


class App:
    def __init__(self, application: OAuthApplication, secret: str):
        self.application, self.secret = application, secret
        self.client_id = application.client_id

    @property
    def basic(self) -> str:
        raw = f"{self.client_id}:{self.secret}".encode()
        return "Basic " + base64.b64encode(raw).decode()


@pytest.fixture(autouse=True)
def _signup_plan_includes_api(request: pytest.FixtureRequest) -> None:
    """Registering an application needs the plan's "api" feature (tests/billing covers the
    refusal); these tests are about the provider, so the signup plan includes it here."""
    if not {"db", "transactional_db"} & set(request.fixturenames):
        return
    request.getfixturevalue("_plan_catalog")
    Plan.objects.filter(code=settings.BILLING_SIGNUP_PLAN).update(features=["api"])


@pytest.fixture
def register_app() -> Callable[..., App]:
    def register(
        tenant: Tenant,
        creator: User,
        *,
        grant_type: str = OAuthApplication.GRANT_CLIENT_CREDENTIALS,
        scopes: tuple[str, ...] = ("read",),
        client_type: str = OAuthApplication.CLIENT_CONFIDENTIAL,
    ) -> App:
        is_code = grant_type == OAuthApplication.GRANT_AUTHORIZATION_CODE
        registered = oauth_application_create(
            tenant=tenant,
            user_id=creator.pk,
            by_role=Role.OWNER,
            name="Integration",
            grant_type=grant_type,
            client_type=client_type,
            redirect_uris=[REDIRECT_URI] if is_code else [],
            scopes=list(scopes),
        )
        return App(registered.application, registered.client_secret)

    return register


def form_post(client: Client, path: str, data: dict[str, str], **headers: Any) -> Any:
    return client.post(
        path, urlencode(data), content_type="application/x-www-form-urlencoded", **headers
    )


def client_credentials_token(app: App, scope: str | None = "read") -> dict:
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    response = form_post(Client(HTTP_HOST=PUBLIC), "/o/token/", data, HTTP_AUTHORIZATION=app.basic)
    assert response.status_code == 200, response.content
    return dict(response.json())


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_query(app: App, *, challenge: str, scope: str | None, state: str = "s1") -> str:
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT_URI,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if scope is not None:
        params["scope"] = scope
    return "/o/authorize/?" + urlencode(params)


def redirect_params(location: str) -> dict[str, str]:
    assert location.startswith(REDIRECT_URI), location
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
