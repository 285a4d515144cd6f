"""The two grants end to end over real HTTP (gunicorn), driven by an OAuth2 client library
(requests-oauthlib): authorization code with PKCE for a user, client credentials for a
machine client."""

import html
import re
from urllib.parse import urlsplit

import pytest
import requests
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

from accounts.models import OAuthApplication, Role
from tests.factories import PASSWORD
from tests.support.http import BearerAuth
from tests.support.oauth import PUBLIC, REDIRECT_URI
from tests.support.processes import RunningServer

pytestmark = pytest.mark.usefixtures("signup_plan_includes_api")

PROJECTS = "/api/v1/projects/"
HOST = {"Host": PUBLIC}


@pytest.fixture(autouse=True)
def _loopback_without_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    # oauthlib insists on https; the test server is plain http on 127.0.0.1.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def sign_in_and_approve(server: RunningServer, authorization_url: str, email: str) -> str:
    """What a browser does: authorize -> login page -> sign in -> consent -> approve.
    Returns the redirect back to the client, carrying the code."""
    browser = requests.Session()
    browser.headers.update(HOST)
    to_login = browser.get(authorization_url, allow_redirects=False)
    assert to_login.status_code == 302
    login_url = server.url + to_login.headers["Location"]
    assert path_of(login_url).startswith("/o/login/?next=")
    next_path = path_of(authorization_url)
    page = browser.get(login_url)
    assert page.status_code == 200
    signed_in = browser.post(
        login_url,
        data={
            "username": email,
            "password": PASSWORD,
            "next": next_path,
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        },
        allow_redirects=False,
    )
    assert signed_in.status_code == 302, signed_in.text
    assert signed_in.headers["Location"] == next_path
    consent = browser.get(server.url + next_path)
    assert consent.status_code == 200, consent.text
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', consent.text))
    fields = {name: html.unescape(value) for name, value in fields.items()}
    approved = browser.post(
        server.url + "/o/authorize/", data={**fields, "allow": "on"}, allow_redirects=False
    )
    assert approved.status_code == 302, approved.text
    return str(approved.headers["Location"])


def test_authorization_code_with_pkce_end_to_end(
    committed, start_server, make_tenant, make_member, register_app
) -> None:
    acme, beta = make_tenant("acme"), make_tenant("beta")
    member = make_member(acme, Role.MEMBER)
    make_member(beta, Role.OWNER, user=member)  # member of both; the token is acme's only
    app = register_app(
        acme,
        make_member(acme, Role.OWNER),
        grant_type=OAuthApplication.GRANT_AUTHORIZATION_CODE,
        scopes=("read", "write"),
    )
    server = start_server()

    oauth = OAuth2Session(
        app.client_id, redirect_uri=REDIRECT_URI, scope=["read", "write"], pkce="S256"
    )
    authorization_url, state = oauth.authorization_url(server.url + "/o/authorize/")
    callback = sign_in_and_approve(server, authorization_url, member.email)
    assert callback.startswith(REDIRECT_URI)
    assert f"state={state}" in callback
    token = oauth.fetch_token(
        server.url + "/o/token/",
        authorization_response=callback,
        client_secret=app.secret,
        headers=HOST,
    )
    assert token["token_type"] == "Bearer"
    assert sorted(token["scope"]) == ["read", "write"]
    assert token["refresh_token"]

    auth = BearerAuth(token["access_token"])
    assert server.get(PROJECTS, "acme.localhost", auth=auth).status_code == 200
    created = server.post(PROJECTS, "acme.localhost", json={"name": "Rocket"}, auth=auth)
    assert created.status_code == 201, created.text
    assert created.json()["created_by"] == member.pk

    elsewhere = server.get(PROJECTS, "beta.localhost", auth=auth)
    assert elsewhere.status_code == 401
    assert elsewhere.json()["error"]["code"] == "token_wrong_tenant"
    assert server.get(PROJECTS, PUBLIC, auth=auth).status_code == 404  # not served there

    # The refresh token rotates and the new access token works the same way.
    refreshed = oauth.refresh_token(
        server.url + "/o/token/", auth=(app.client_id, app.secret), headers=HOST
    )
    assert refreshed["access_token"] != token["access_token"]
    new_auth = BearerAuth(refreshed["access_token"])
    assert server.get(PROJECTS, "acme.localhost", auth=new_auth).status_code == 200


def test_client_credentials_end_to_end(
    committed, start_server, make_tenant, make_member, register_app
) -> None:
    acme = make_tenant("acme")
    make_tenant("beta")
    app = register_app(acme, make_member(acme, Role.ADMIN), scopes=("read", "write"))
    server = start_server()

    oauth = OAuth2Session(client=BackendApplicationClient(app.client_id, scope=["read"]))
    token = oauth.fetch_token(
        server.url + "/o/token/",
        client_id=app.client_id,
        client_secret=app.secret,
        headers=HOST,
    )
    assert token["scope"] == ["read"]
    assert "refresh_token" not in token

    auth = BearerAuth(token["access_token"])
    assert server.get(PROJECTS, "acme.localhost", auth=auth).status_code == 200
    read_only = server.post(PROJECTS, "acme.localhost", json={"name": "x"}, auth=auth)
    assert read_only.status_code == 403
    assert read_only.json()["error"]["code"] == "permission_denied"
    refused = server.get(PROJECTS, "beta.localhost", auth=auth)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "token_wrong_tenant"

    introspected = requests.post(
        server.url + "/o/introspect/",
        data={"token": token["access_token"]},
        auth=(app.client_id, app.secret),
        headers=HOST,
        timeout=10,
    ).json()
    assert introspected["active"] is True
    assert introspected["scope"] == "read"
    revoked = requests.post(
        server.url + "/o/revoke_token/",
        data={"token": token["access_token"]},
        auth=(app.client_id, app.secret),
        headers=HOST,
        timeout=10,
    )
    assert revoked.status_code == 200
    assert server.get(PROJECTS, "acme.localhost", auth=auth).status_code == 401
