"""Browser protections on what we serve: the docs pages' CSP, HTTPS redirects that spare
the probes, and the usual headers."""

import base64
import hashlib
import re
from typing import Any

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)
SCRIPT_SRC = re.compile(r'<script[^>]*\bsrc="([^"]+)"')


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_have_a_csp_that_lets_them_run(path: str) -> None:
    client = APIClient(HTTP_HOST="localhost")
    response = client.get(path)
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    script_src = policy["script-src"]
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    html = response.content.decode()
    # Every inline script may run (its hash is listed); the rest come from our own origin.
    for body in INLINE_SCRIPT.findall(html):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src
    sources = SCRIPT_SRC.findall(html)
    assert sources
    for src in sources:
        assert src.startswith("/static/"), src
        assert client.get(src).status_code == 200, src
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_api_answers_carry_the_protective_headers() -> None:
    response = APIClient(HTTP_HOST="localhost").get("/api/v1/plans/")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_https_redirect_spares_probes_and_scrapes(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    settings.METRICS_REQUIRE_AUTH = False
    client = APIClient(HTTP_HOST="localhost")  # made after the change: reads it at start
    redirected = client.get("/api/v1/plans/")
    assert redirected.status_code == 301
    assert redirected["Location"] == "https://localhost/api/v1/plans/"
    for path in ("/healthz", "/metrics"):
        assert client.get(path).status_code == 200, path
    assert client.get("/readyz").status_code != 301
    behind_tls = client.get("/api/v1/plans/", HTTP_X_FORWARDED_PROTO="https")
    assert behind_tls.status_code == 200
    assert behind_tls["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"
