"""Swagger UI on the public host can call the tenant endpoints ("Try it out"): the schema's
servers follow the scheme and port the docs were loaded from and name the tenant host with
a `{tenant}` variable, the page's CSP lets it connect to the tenant hosts and nowhere else,
and a tenant host lets that page (the public origin, same scheme and port) call it. Its
OAuth2 "Authorize" uses the public host's /o/ on that scheme and port too.
tests/browser/test_swagger.py and test_swagger_oauth.py do it in a real browser."""

import re

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.support.http import host_of

pytestmark = pytest.mark.django_db


def servers_at(host: str, headers: dict[str, str] | None = None) -> list[dict]:
    response = APIClient(HTTP_HOST=host).get("/api/schema/?format=json", headers=headers)
    assert response.status_code == 200
    return response.json()["servers"]


def directives(header: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in header.split(";"))}


def test_servers_are_the_public_and_tenant_hosts_on_the_port_asked_on() -> None:
    public, tenant = servers_at("localhost:8123")
    assert public["url"] == "http://localhost:8123"
    assert tenant["url"] == "http://{tenant}.localhost:8123"
    assert tenant["variables"]["tenant"]["default"]
    assert "8000" not in str(servers_at("localhost:8123"))


def oauth2_flows_at(host: str, headers: dict[str, str] | None = None) -> dict:
    response = APIClient(HTTP_HOST=host).get("/api/schema/?format=json", headers=headers)
    assert response.status_code == 200
    return response.json()["components"]["securitySchemes"]["oauth2"]["flows"]


def test_oauth2_endpoints_are_the_public_host_on_the_port_asked_on() -> None:
    """Swagger UI's Authorize (OAuth2) opens /o/authorize/ and posts to /o/token/ where the
    docs were loaded from, whatever OAUTH_PUBLIC_URL's port."""
    flows = oauth2_flows_at("localhost:8123")
    code = flows["authorizationCode"]
    assert code["authorizationUrl"] == "http://localhost:8123/o/authorize/"
    assert code["tokenUrl"] == code["refreshUrl"] == "http://localhost:8123/o/token/"
    assert flows["clientCredentials"]["tokenUrl"] == "http://localhost:8123/o/token/"
    assert "8000" not in str(flows)


def test_swagger_ui_authorize_hands_the_code_back_to_the_page() -> None:
    """The rest of the flow: PKCE (which /o/authorize/ requires), the redirect page beside
    the docs, and a page that keeps its link to the sign-in popup (same-origin COOP, as the
    /o/ pages have). tests/browser/test_swagger_oauth.py runs it in a browser."""
    client = APIClient(HTTP_HOST="localhost:8123")
    docs = client.get("/api/docs/")
    assert docs["Cross-Origin-Opener-Policy"] == "same-origin"
    assert b'"usePkceWithAuthorizationCodeGrant": true' in docs.content
    back = client.get("/api/docs/oauth2-redirect.html?code=c0de&state=s1")
    assert back.status_code == 302
    assert back["Location"].endswith("/oauth2-redirect.html?code=c0de&state=s1")
    assert client.get(back["Location"]).status_code == 200
    assert client.get("/o/login/")["Cross-Origin-Opener-Policy"] == "same-origin"


def test_servers_follow_the_scheme_and_default_port_behind_the_proxy(settings) -> None:
    settings.BASE_DOMAIN = "example.com"
    settings.ALLOWED_HOSTS = ["example.com", ".example.com"]
    # The tenant middleware reads BASE_DOMAIN when it is built: a new client builds it.
    public, tenant = servers_at("example.com", {"X-Forwarded-Proto": "https"})
    assert public["url"] == "https://example.com"
    assert tenant["url"] == "https://{tenant}.example.com"
    flows = oauth2_flows_at("example.com", {"X-Forwarded-Proto": "https"})
    assert flows["authorizationCode"]["authorizationUrl"] == "https://example.com/o/authorize/"


def test_a_schema_written_offline_uses_the_configured_public_url(settings, tmp_path) -> None:
    settings.OAUTH_PUBLIC_URL = "https://localhost:8443"
    out = tmp_path / "schema.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(out))
    text = out.read_text()
    assert '"url": "https://localhost:8443"' in text
    assert '"url": "https://{tenant}.localhost:8443"' in text
    assert '"authorizationUrl": "https://localhost:8443/o/authorize/"' in text
    assert '"tokenUrl": "https://localhost:8443/o/token/"' in text


def test_swagger_ui_may_connect_to_the_tenant_hosts_and_nothing_else() -> None:
    response = APIClient(HTTP_HOST="localhost:8123").get("/api/docs/")
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["connect-src"] == ["'self'", "http://*.localhost:8123"]
    assert policy["default-src"] == ["'self'"]


def test_redoc_only_reads_the_schema() -> None:
    response = APIClient(HTTP_HOST="localhost:8123").get("/api/redoc/")
    assert directives(response["Content-Security-Policy"])["connect-src"] == ["'self'"]


def test_the_docs_pages_load_nothing_from_elsewhere_and_only_redoc_starts_a_worker() -> None:
    """tests/browser/test_redoc.py loads ReDoc in a browser: nothing blocked, nothing fetched
    from another origin."""
    client = APIClient(HTTP_HOST="localhost:8123")
    redoc = client.get("/api/redoc/")
    assert b"fonts.googleapis.com" not in redoc.content
    assert not re.search(rb"""(href|src)=["']?(https?:)?//""", redoc.content)
    policy = directives(redoc["Content-Security-Policy"])
    assert policy["worker-src"] == ["blob:"]  # its search runs in a worker made from a blob
    assert policy["font-src"] == ["'none'"]
    assert policy["img-src"] == ["'self'", "data:"]
    swagger = directives(client.get("/api/docs/")["Content-Security-Policy"])
    assert swagger["worker-src"] == ["'none'"]
    assert swagger["font-src"] == ["'none'"]


def _preflight(host: str, origin: str):
    return APIClient().options(
        "/api/v1/projects/",
        HTTP_HOST=host,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )


def test_a_tenant_host_lets_the_docs_page_call_it(make_tenant) -> None:
    host = f"{host_of(make_tenant('acme'))}:8123"
    allowed = _preflight(host, "http://localhost:8123")
    assert allowed["Access-Control-Allow-Origin"] == "http://localhost:8123"
    assert "authorization" in allowed["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in allowed
    # Only the public host on this scheme and port; another tenant's host is not it.
    for origin in (
        "http://localhost:9999",
        "https://localhost:8123",
        "http://other.localhost:8123",
    ):
        assert "Access-Control-Allow-Origin" not in _preflight(host, origin), origin
