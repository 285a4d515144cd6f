"""A security key in a real browser: headless Chromium with a virtual authenticator (the
DevTools Protocol's WebAuthn domain: CTAP2, internal, resident keys, user verification), on a
page of the organization's host of a running server. The page's own navigator.credentials
makes the key from the API's creation options and signs the login's challenge; fetch posts
both answers to the API, as a front end would. The origin and the relying party id are the
browser's own, so this is the check that our RP id and origin rules fit a real browser."""

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.support.processes import RunningServer

pytestmark = pytest.mark.slow

PASSWORD = "correct-horse-battery-2026"

# The page's script: the API's JSON options to navigator.credentials and its answer back as
# JSON (the WebAuthn Level 3 helpers Chromium has), posted with fetch on the page's origin.
CEREMONY = """
async ({kind, options, post, body, token}) => {
  const publicKey = kind === "create"
    ? PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey)
    : PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey);
  const credential = await navigator.credentials[kind]({publicKey});
  const headers = {"Content-Type": "application/json"};
  if (token) headers.Authorization = "Bearer " + token;
  const answer = await fetch(post, {
    method: "POST",
    headers,
    body: JSON.stringify({...body, [kind === "create" ? "credential" : "webauthn"]:
      credential.toJSON()}),
  });
  return {status: answer.status, body: await answer.json()};
}
"""

FETCH = """
async ({path, body, token}) => {
  const headers = {"Content-Type": "application/json"};
  if (token) headers.Authorization = "Bearer " + token;
  const answer = await fetch(path, {method: "POST", headers, body: JSON.stringify(body)});
  return {status: answer.status, body: await answer.json()};
}
"""


def _claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_a_passkey_is_enrolled_and_signs_the_login_in_chromium(
    committed: None,
    start_server: Callable[..., RunningServer],
    browser_page: Page,
) -> None:
    server = start_server()
    signup = server.post(
        "/api/v1/signup/",
        "localhost",
        json={"name": "Keys", "slug": "keys", "email": "o@keys.test", "password": PASSWORD},
    )
    assert signup.status_code == 201, signup.text
    host = f"keys.localhost:{server.port}"
    page = browser_page
    page.goto(f"http://{host}/billing")  # a page of the organization's own origin

    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )["authenticatorId"]

    login = {"email": "o@keys.test", "password": PASSWORD}
    first = page.evaluate(FETCH, {"path": "/api/v1/auth/login/", "body": login, "token": ""})
    assert first["status"] == 200, first
    token = first["body"]["access"]

    begun = page.evaluate(
        FETCH,
        {"path": "/api/v1/auth/mfa/webauthn/register/", "body": {"passkey": True}, "token": token},
    )
    assert begun["status"] == 201, begun
    assert begun["body"]["options"]["publicKey"]["rp"]["id"] == "keys.localhost"
    enrolled = page.evaluate(
        CEREMONY,
        {
            "kind": "create",
            "options": begun["body"]["options"],
            "post": "/api/v1/auth/mfa/webauthn/register/complete/",
            "body": {"name": "Chromium passkey"},
            "token": token,
        },
    )
    assert enrolled["status"] == 201, enrolled
    assert enrolled["body"]["key"]["name"] == "Chromium passkey"
    assert enrolled["body"]["key"]["passkey"] is True  # the browser's credProps said so
    assert len(enrolled["body"]["recovery_codes"]) == 10
    [stored] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})[
        "credentials"
    ]
    assert stored["isResidentCredential"] is True
    assert stored["rpId"] == "keys.localhost"

    # The next login asks for the key, and the browser's signature logs in.
    challenged = page.evaluate(FETCH, {"path": "/api/v1/auth/login/", "body": login, "token": ""})
    assert challenged["status"] == 202, challenged
    assert "webauthn" in challenged["body"]["types"]
    signed = page.evaluate(
        CEREMONY,
        {
            "kind": "get",
            "options": challenged["body"]["webauthn"],
            "post": "/api/v1/auth/login/mfa/",
            "body": {"mfa_token": challenged["body"]["mfa_token"]},
            "token": "",
        },
    )
    assert signed["status"] == 200, signed
    assert _claims(signed["body"]["access"])["amr"] == ["pwd", "webauthn", "mfa"]
    [used] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert used["signCount"] >= 1

    # The same challenge again (its request options, signed anew) is refused: single use.
    again = page.evaluate(
        CEREMONY,
        {
            "kind": "get",
            "options": challenged["body"]["webauthn"],
            "post": "/api/v1/auth/login/mfa/",
            "body": {"mfa_token": challenged["body"]["mfa_token"]},
            "token": "",
        },
    )
    assert again["status"] == 401
    assert again["body"]["error"]["code"] == "mfa_challenge_invalid"
