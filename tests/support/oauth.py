"""The OAuth2 provider in tests: applications with their secrets, driving /o/ in process."""

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.test import Client

from accounts.models import OAuthApplication, User

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


def consent_fields(html: str) -> dict[str, str]:
    import html as html_lib
    import re

    found = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html)
    return {name: html_lib.unescape(value) for name, value in found}


def browser_for(user: User) -> Client:
    browser = Client(HTTP_HOST=PUBLIC)
    browser.force_login(user)
    return browser


def approve(browser: Client, query: str) -> dict[str, str]:
    """GET the consent page, approve it, return the parameters sent to the redirect URI."""
    page = browser.get(query)
    assert page.status_code == 200, page.content
    fields = consent_fields(page.content.decode())
    response = form_post(browser, "/o/authorize/", {**fields, "allow": "on"})
    assert response.status_code == 302
    return redirect_params(response["Location"])


def exchange(app: App, code: str, verifier: str) -> dict:
    response = form_post(
        Client(HTTP_HOST=PUBLIC),
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        HTTP_AUTHORIZATION=app.basic,
    )
    assert response.status_code == 200, response.content
    return dict(response.json())


def user_token(app: App, user: User, scope: str = "read") -> str:
    """An access token `user` gave `app` through the authorization-code flow with PKCE:
    signed in on the public host, consented, code exchanged."""
    verifier, challenge = pkce_pair()
    sent = approve(browser_for(user), authorize_query(app, challenge=challenge, scope=scope))
    return str(exchange(app, sent["code"], verifier)["access_token"])
