"""No secret in any process's log (issue 13, logs): a real gunicorn (the production gunicorn
settings) and a real Celery worker, both at DEBUG as an operator chasing a problem would run
them, while one organization's people do what carries secrets: sign up and log in with
passwords (one wrong), refresh and revoke JWTs, invite someone and accept with the emailed
token (refused first), reset a password with the emailed link (refused first), register an
OAuth application and use its secret, and Stripe's webhook posts a signature. Django's
request loggers, gunicorn's error log (a refused request line quotes the path) and Celery's
(at DEBUG it writes each task's arguments: the invitation and reset links) are all read.

tests/security/test_path_secrets_in_logs.py covers every 4xx of each token path in-process.
"""

import re
import socket
from pathlib import Path

import pytest
import requests

from billing.models import Plan
from tests.support.http import BearerAuth
from tests.support.processes import (
    REPO,
    SmtpSink,
    body_text,
    start_celery_worker,
    subprocess_env,
    wait_until,
)

pytestmark = pytest.mark.slow

PUBLIC = "localhost"
HOST = "logs.localhost"
OWNER = {"email": "owner@logs.test", "password": "Owner-password-never-logged-1"}
INVITEE_PASSWORD = "Invitee-password-never-logged-2"
WEBHOOK_SECRET = "whsec_" + "s3cr3tWebhookSigningKey0123456789"
JWT_SIGNING_KEY = "jwt-signing-key-never-logged-0123456789"
QUIET = {  # throttles are not under test here
    name: "100000/min"
    for name in ("THROTTLE_LOGIN_IP", "THROTTLE_LOGIN_ACCOUNT", "THROTTLE_SIGNUP_IP")
}


def _link_secrets(message_text: str) -> list[str]:
    """The path segments of an email's links that are secrets (tokens, uids)."""
    secrets = []
    for url in re.findall(r"https?://[^\s\"'<>]+", message_text):
        path = url.split("://", 1)[1].split("/", 1)[-1]
        secrets += [
            part
            for part in path.split("/")
            if len(part) >= 10 and not re.fullmatch(r"[a-z-]+", part)  # not a route's words
        ]
    return secrets


def _around(value: str, text: str) -> str:
    at = text.index(value)
    return text[max(0, at - 150) : at + len(value) + 50]


def _raw_request_line(port: int, line: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(line.encode() + b"\r\nHost: " + HOST.encode() + b"\r\n\r\n")
        return sock.recv(65536)


def test_no_secret_reaches_gunicorns_or_celerys_log(
    committed, start_server, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    env = {
        "LOG_LEVEL": "DEBUG",
        "STRIPE_WEBHOOK_SECRETS": WEBHOOK_SECRET,
        "JWT_SIGNING_KEY": JWT_SIGNING_KEY,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_sink.port}",
        **QUIET,
    }
    Plan.objects.update(features=["api"])  # OAuth applications need the plan's `api`
    server_log, worker_log = tmp_path / "gunicorn.log", tmp_path / "worker.log"
    with server_log.open("w") as server_out, worker_log.open("w") as worker_out:
        worker = start_celery_worker(
            subprocess_env(**env), str(REPO), loglevel="debug", output=worker_out
        )
        try:
            server = start_server(output=server_out, log_level="debug", **env)
            secrets = _walk_every_secret_path(server, smtp_sink)
        finally:
            worker.terminate()
            worker.wait(timeout=20)
        server.process.terminate()
        server.process.wait(timeout=10)

    logs = {"gunicorn": server_log.read_text(), "celery": worker_log.read_text()}
    # The logs were written at DEBUG and hold what was done (so the check below means
    # something): the access lines, gunicorn's refusal, the worker's email tasks.
    assert "saas.access" in logs["gunicorn"]
    assert "Invalid request from ip=127.0.0.1" in logs["gunicorn"]
    assert "saas.tasks.email_send" in logs["celery"]
    assert "DEBUG" in logs["celery"]
    for name, text in logs.items():
        found = {kind: _around(value, text) for kind, value in secrets if value in text}
        assert found == {}, f"in {name}'s log"


def _walk_every_secret_path(server, smtp_sink: SmtpSink) -> list[tuple[str, str]]:
    secrets: list[tuple[str, str]] = [
        ("owner password", OWNER["password"]),
        ("invitee password", INVITEE_PASSWORD),
        ("webhook secret", WEBHOOK_SECRET),
        ("JWT signing key", JWT_SIGNING_KEY),
    ]
    signup = server.post("/api/v1/signup/", PUBLIC, json={"name": "Logs", "slug": "logs", **OWNER})
    assert signup.status_code == 201, signup.text

    wrong = server.post(
        "/api/v1/auth/login/", HOST, json={"email": OWNER["email"], "password": "wrong-" + "x" * 9}
    )
    assert wrong.status_code == 401
    login = server.post("/api/v1/auth/login/", HOST, json=OWNER)
    assert login.status_code == 200, login.text
    access, refresh = login.json()["access"], login.json()["refresh"]
    secrets += [("access JWT", access), ("refresh JWT", refresh)]
    auth = BearerAuth(access)
    refreshed = server.post("/api/v1/auth/token/refresh/", HOST, json={"refresh": refresh})
    assert refreshed.status_code == 200
    refresh = refreshed.json().get("refresh", refresh)  # rotated
    secrets += [("refreshed JWT", refreshed.json()["access"]), ("rotated refresh", refresh)]
    forged = access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB")
    assert server.get("/api/v1/members/", HOST, auth=BearerAuth(forged)).status_code == 401
    secrets += [("forged JWT", forged)]

    invited = server.post(
        "/api/v1/invitations/",
        HOST,
        json={"email": "new.person@logs.test", "role": "member"},
        auth=auth,
    )
    assert invited.status_code == 201, invited.text
    invitation_link = _link_secrets(body_text(smtp_sink.wait_for("new.person@logs.test")))
    assert invitation_link, "no token in the invitation email"
    token = invitation_link[-1]
    secrets += [("invitation token", token)]
    accept = f"/api/v1/invitations/{token}/accept/"
    weak = server.post(accept, HOST, json={"password": "123", "full_name": "New Person"})
    assert weak.status_code == 400
    elsewhere = server.post(accept, "other.localhost", json={"password": INVITEE_PASSWORD})
    assert elsewhere.status_code == 404
    # A request line gunicorn refuses (it quotes it in its error log), then one too long.
    assert b" 400 " in _raw_request_line(server.port, f"POST {accept} HTTP/1.1 junk")
    assert b" 414 " in _raw_request_line(server.port, f"GET {accept}?{'x' * 5000} HTTP/1.1")
    joined = server.post(accept, HOST, json={"password": INVITEE_PASSWORD, "full_name": "N P"})
    assert joined.status_code == 201, joined.text
    secrets += [
        ("invitee's JWT", joined.json()["access"]),
        ("invitee's refresh", joined.json()["refresh"]),
    ]

    reset = server.post("/api/v1/auth/password/reset/", HOST, json={"email": OWNER["email"]})
    assert reset.status_code == 200
    parts = _link_secrets(body_text(smtp_sink.wait_for(OWNER["email"], timeout=30)))
    reset_secrets = [p for p in parts if p != token]
    assert reset_secrets, "no uid/token in the reset email"
    secrets += [("reset link part", part) for part in reset_secrets]
    uid, reset_token = (reset_secrets + reset_secrets)[-2:]
    refused = server.post(
        "/api/v1/auth/password/reset/confirm/",
        HOST,
        json={"uid": uid, "token": reset_token, "new_password1": "1", "new_password2": "1"},
    )
    assert refused.status_code == 400

    app = server.post(
        "/api/v1/oauth/applications/",
        HOST,
        json={"name": "Export", "grant_type": "client-credentials", "scopes": ["read"]},
        auth=auth,
    )
    assert app.status_code == 201, app.text
    client_id, client_secret = app.json()["client_id"], app.json()["client_secret"]
    secrets += [("OAuth client secret", client_secret)]
    bad_secret = client_secret[:-3] + "zzz"
    token_url = server.url + "/o/token/"
    grant = {"grant_type": "client_credentials", "scope": "read"}
    wrong_client = requests.post(
        token_url, data=grant, auth=(client_id, bad_secret), headers={"Host": PUBLIC}, timeout=10
    )
    assert wrong_client.status_code == 401
    issued = requests.post(
        token_url, data=grant, auth=(client_id, client_secret), headers={"Host": PUBLIC}, timeout=10
    )
    assert issued.status_code == 200, issued.text
    secrets += [("OAuth access token", issued.json()["access_token"])]

    signature = "v1=" + "5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"
    webhook = requests.post(
        server.url + "/api/v1/billing/stripe/webhook/",
        data=b'{"id": "evt_1", "object": "event"}',
        headers={"Host": PUBLIC, "Stripe-Signature": f"t=1700000000,{signature}"},
        timeout=10,
    )
    assert webhook.status_code == 400
    secrets += [("Stripe signature", signature[3:])]

    logout = server.post("/api/v1/auth/logout/", HOST, json={"refresh": refresh}, auth=auth)
    assert logout.status_code in (200, 204), logout.text
    # The worker has run every email task (the reset email was the last one sent).
    wait_until(lambda: smtp_sink.sent_to(OWNER["email"]), "the reset email")
    return secrets
