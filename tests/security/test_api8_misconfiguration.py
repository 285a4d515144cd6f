"""OWASP API8:2023 Security Misconfiguration: missing hardening anywhere in the stack:
transport security, browser protections, verbose errors, permissive CORS, needless HTTP
methods.

What this product exposes: two kinds of hosts (public and tenants) answering JSON APIs,
a few HTML pages (API docs, landing pages, OAuth2 sign-in and consent, the operator
admin), CORS decided per host (api.cors), production settings that switch HTTPS, HSTS and
secure cookies on. Probed here:

- under production settings (a child process on this run's database): HSTS with
  subdomains, nosniff, X-Frame-Options, Referrer-Policy and COOP on API answers, errors and
  pages of both hosts, and plain http redirected to https;
- every answer of both hosts (successes, 4xx the views give, and those middleware gives
  before the security middleware runs) carries nosniff and X-Frame-Options DENY; API
  answers are JSON and set no cookie;
- every HTML page has a Content-Security-Policy with frame-ancestors 'none' and no inline
  scripts beyond hashed ones;
- no debug page: DEBUG is off, and 404, 405, 415, malformed bodies, a bad Host and a 500
  from a crashing view all answer in the one JSON error format without a traceback;
- CORS on every API route of both hosts: arbitrary origins, `null` and another tenant's
  origin are not reflected, credentials are never allowed, the wildcard never sent;
- TRACE, CONNECT and unknown methods are 405 with Allow on every route.
"""

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.views import APIView

from accounts.models import Role
from tenants.models import Tenant, TenantStatus
from tenants.resolution import tenant_cache_invalidate
from tests.support.http import assert_error
from tests.support.oauth import form_post, pkce_pair
from tests.support.owasp import (
    Route,
    World,
    api_client,
    api_routes,
    caller_client,
    fill,
    operation_id,
    routes,
)

pytestmark = pytest.mark.django_db

# ---- production ----------------------------------------------------------------------------

PRODUCTION_PROBES = [
    "public API",
    "public 404",
    "docs page",
    "tenant 401",
    "tenant 404",
    "landing page",
]


@pytest.mark.parametrize("probe", PRODUCTION_PROBES)
def test_production_answers_carry_transport_and_browser_protections(
    production: dict[str, Any], probe: str
) -> None:
    answer = production["answers"][probe]
    headers = answer["headers"]
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] in ("same-origin", "no-referrer")
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert answer["plain"] == 301
    assert answer["location"] == f"https://{answer['host']}{answer['path']}"
    if headers["content-type"].startswith("text/html"):
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
    if answer["status"] >= 400:
        body = json.loads(answer["body"])
        assert set(body["error"]) >= {"code", "message", "request_id"}
        assert "Traceback" not in answer["body"]


# ---- headers on every answer ---------------------------------------------------------------


def _suspend(world: World) -> None:
    Tenant.objects.filter(pk=world.acme.tenant.pk).update(status=TenantStatus.SUSPENDED)
    tenant_cache_invalidate()


def _read_only(world: World) -> None:
    Tenant.objects.filter(pk=world.acme.tenant.pk).update(status=TenantStatus.READ_ONLY)
    tenant_cache_invalidate()


ANSWERS: list[Any] = [
    pytest.param("public", None, "GET", "/api/v1/plans/", None, 200, id="public 200"),
    pytest.param("public", None, "GET", "/api/v1/nope/", None, 404, id="public 404"),
    pytest.param("public", None, "PUT", "/api/v1/signup/", {}, 405, id="public 405"),
    pytest.param("public", None, "POST", "/api/v1/signup/", {"slug": 1}, 400, id="public 400"),
    pytest.param("public", None, "GET", "/api/docs/", None, 200, id="docs page"),
    pytest.param("tenant", Role.OWNER, "GET", "/api/v1/projects/", None, 200, id="tenant 200"),
    pytest.param("tenant", None, "GET", "/api/v1/projects/", None, 401, id="tenant 401"),
    pytest.param("tenant", Role.BILLING, "GET", "/api/v1/projects/", None, 403, id="tenant 403"),
    pytest.param("tenant", Role.OWNER, "GET", "/api/v1/nope/", None, 404, id="tenant 404"),
    pytest.param("tenant", Role.OWNER, "POST", "/api/v1/projects/", "{", 400, id="tenant 400"),
    pytest.param("tenant", None, "GET", "/billing", None, 200, id="landing page"),
    pytest.param(
        "public",
        None,
        "POST",
        "/api/v1/signup/",
        "big",
        413,
        id="public 413",
    ),
    pytest.param(
        "tenant",
        Role.OWNER,
        "POST",
        "/api/v1/projects/",
        "big",
        413,
        id="tenant 413",
    ),
    pytest.param(
        "tenant",
        Role.OWNER,
        "GET",
        "/api/v1/projects/",
        _suspend,
        403,
        id="suspended 403",
    ),
    pytest.param(
        "tenant",
        Role.OWNER,
        "POST",
        "/api/v1/projects/",
        _read_only,
        403,
        id="read-only 403",
    ),
]


@pytest.mark.parametrize(("host", "caller", "method", "path", "body", "status"), ANSWERS)
def test_every_answer_carries_the_browser_protections(
    world: World, host: str, caller: str | None, method: str, path: str, body: Any, status: int
) -> None:
    client = (
        api_client("localhost") if host == "public" else caller_client(world, caller or "anonymous")
    )
    extra: dict[str, Any] = {}
    if callable(body):
        body(world)
        body = {"name": "x"} if method == "POST" else None
    if body == "big":
        body, extra = (
            {"name": "x"},
            {"CONTENT_LENGTH": str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)},
        )
    if isinstance(body, str):
        response = client.generic(method, path, body, "application/json", **extra)
    elif body is None:
        response = client.generic(method, path, **extra)
    else:
        response = client.generic(method, path, json.dumps(body), "application/json", **extra)
    assert response.status_code == status, response.content[:300]
    assert response.get("X-Content-Type-Options") == "nosniff"
    assert response.get("X-Frame-Options") == "DENY"


V1 = [r for r in api_routes("public") + api_routes("tenant") if r.pattern.startswith("api/v1/")]


# What the API serves in another format, by route name.
NOT_JSON = {"sso-saml-metadata": "application/samlmetadata+xml"}  # SAML metadata is XML


@pytest.mark.parametrize("route", V1, ids=operation_id)
def test_api_answers_are_json_and_set_no_cookie(world: World, route: Route) -> None:
    client = api_client("localhost") if route.host == "public" else caller_client(world, Role.OWNER)
    method = "GET" if "GET" in route.methods else route.methods[0]
    response = client.generic(method, fill(route, world.acme.ids()), "{}", "application/json")
    if response.status_code != 204:
        expected = NOT_JSON.get(str(route.name), "application/json")
        assert response["Content-Type"].startswith(expected), response["Content-Type"]
    assert not response.cookies, dict(response.cookies)
    assert response["X-Content-Type-Options"] == "nosniff"


# ---- HTML pages ---------------------------------------------------------------------------------


def _consent_page(world: World) -> Any:
    from accounts.models import OAuthApplication
    from accounts.oauth.services import oauth_application_create

    registered = oauth_application_create(
        tenant=world.acme.tenant,
        user_id=world.acme.owner.pk,
        by_role=Role.OWNER,
        name="Consent",
        grant_type=OAuthApplication.GRANT_AUTHORIZATION_CODE,
        redirect_uris=["https://app.example/callback"],
        scopes=["read"],
    )
    browser = Client(HTTP_HOST="localhost")
    browser.force_login(world.acme.owner)
    _, challenge = pkce_pair()
    query = (
        f"response_type=code&client_id={registered.application.client_id}"
        "&redirect_uri=https://app.example/callback&code_challenge="
        f"{challenge}&code_challenge_method=S256&scope=read&state=s"
    )
    return browser.get(f"/o/authorize/?{query}")


PAGES: list[Any] = [
    pytest.param("localhost", "/api/docs/", id="swagger ui"),
    pytest.param("localhost", "/api/redoc/", id="redoc"),
    pytest.param("tenant", "/invitations/{token}", id="invitation page"),
    pytest.param("tenant", "/reset-password/MQ/abc-def", id="password reset page"),
    pytest.param("tenant", "/billing", id="billing page"),
    pytest.param("tenant", "/sso/complete", id="sso landing page"),
    pytest.param("localhost", "/o/login/", id="oauth sign-in page"),
    pytest.param("localhost", "consent", id="oauth consent page"),
    pytest.param("localhost", "/admin/login/", id="admin sign-in page"),
]


@pytest.mark.parametrize(("host", "path"), PAGES)
def test_every_html_page_has_a_content_security_policy(world: World, host: str, path: str) -> None:
    if path == "consent":
        response = _consent_page(world)
    else:
        client = api_client(world.acme.host if host == "tenant" else host)
        response = client.get(path.replace("{token}", world.acme.invitation_token))
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/html")
    assert response["X-Frame-Options"] == "DENY"
    policy = {
        part.split()[0]: part.split()[1:]
        for part in response.get("Content-Security-Policy", "").split(";")
        if part.strip()
    }
    assert policy.get("frame-ancestors") == ["'none'"], policy
    assert "'unsafe-inline'" not in policy.get("script-src", policy.get("default-src", []))
    assert "'unsafe-eval'" not in policy.get("script-src", [])


def test_the_consent_form_may_lead_to_the_applications_redirect_uri(world: World) -> None:
    """Authorizing answers the consent form with a redirect to the redirect URI, and browsers
    hold that redirect to form-action: the consent page allows that origin and no other."""
    response = _consent_page(world)
    policy = {
        part.split()[0]: part.split()[1:]
        for part in response["Content-Security-Policy"].split(";")
        if part.strip()
    }
    assert policy["form-action"] == ["'self'", "https://app.example"]
    sign_in = api_client("localhost").get("/o/login/")
    assert "form-action 'self';" in sign_in["Content-Security-Policy"]


def test_the_pages_are_all_probed() -> None:
    """Every HTML page route of both hosts is in PAGES (or is an admin page behind the
    admin's sign-in, whose page is)."""
    html_routes = {
        route.pattern
        for host in ("public", "tenant")
        for route in routes(host)
        # The SCIM service (scim/v2/) is an API of its own, not pages (tests/accounts/scim).
        if not route.is_api and not route.pattern.startswith(("admin/", "o/", "scim/"))
    }
    assert html_routes == {
        "invitations/<str:token>",
        "reset-password/<str:uid>/<str:token>",
        "billing",
        "sso/complete",
    }


# ---- errors -------------------------------------------------------------------------------------

TELLTALES = ("Traceback", 'File "', "django.", "/site-packages/", "SECRET_KEY", "DEBUG")


def _no_debug(response: Any) -> dict[str, Any]:
    text = response.content.decode(errors="replace")
    assert not any(telltale in text for telltale in TELLTALES), text[:500]
    assert response["Content-Type"].startswith("application/json"), text[:200]
    return assert_error(response, response.status_code)


def test_debug_is_off(production: dict[str, Any]) -> None:
    assert settings.DEBUG is False
    assert production["settings"]["DEBUG"] is False


@pytest.mark.parametrize("host", ["public", "tenant"])
def test_errors_answer_in_json_without_internals(
    world: World, host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = api_client("localhost") if host == "public" else caller_client(world, Role.OWNER)
    write = "/api/v1/signup/" if host == "public" else "/api/v1/projects/"
    read = "/api/v1/plans/" if host == "public" else "/api/v1/projects/"
    cases = {
        "unknown route": client.get("/api/v1/does-not-exist/"),
        "unknown id": client.get("/api/v1/projects/999999999/"),
        "method": client.delete(read),
        "media type": client.post(write, "x=1", content_type="text/plain"),
        "malformed JSON": client.post(write, "{", content_type="application/json"),
        "browsable API": client.get(f"{read}?format=api"),
        "bad host": api_client("evil.example").get(read),
        "bad Content-Length": client.generic(
            "POST", write, "{}", "application/json", CONTENT_LENGTH="x"
        ),
    }
    for name, response in cases.items():
        assert 400 <= response.status_code < 500, (name, response.status_code)
        _no_debug(response)

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"internal detail {settings.SECRET_KEY} at /srv/app/secret.py")

    monkeypatch.setattr(APIView, "initial", explode)
    crashed = client.get(read)
    assert crashed.status_code == 500
    error = _no_debug(crashed)
    assert "internal detail" not in error["message"]
    assert settings.SECRET_KEY not in crashed.content.decode()


# ---- CORS ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", V1, ids=operation_id)
def test_cors_reflects_no_stranger(world: World, route: Route) -> None:
    acme, beta = world.acme, world.beta
    Tenant.objects.filter(pk=acme.tenant.pk).update(
        cors_allowed_origins=["https://app.acme.example"]
    )
    Tenant.objects.filter(pk=beta.tenant.pk).update(
        cors_allowed_origins=["https://app.beta.example"]
    )
    tenant_cache_invalidate()
    host = "localhost" if route.host == "public" else acme.host
    path = fill(route, acme.ids())
    method = route.methods[0] if route.methods else "GET"
    client = api_client(host)
    strangers = [
        "https://evil.example",
        "null",
        "https://app.beta.example",
        "http://acme.localhost.evil.example",
    ]
    for origin in strangers:
        preflight = client.options(
            path, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD=method
        )
        simple = client.get(path, HTTP_ORIGIN=origin)
        for response in (preflight, simple):
            assert "Access-Control-Allow-Origin" not in response, (origin, dict(response.items()))
            assert "Access-Control-Allow-Credentials" not in response
    if route.host == "tenant":
        allowed = client.options(
            path,
            HTTP_ORIGIN="https://app.acme.example",
            HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        )
        assert allowed["Access-Control-Allow-Origin"] == "https://app.acme.example"
        assert "Access-Control-Allow-Credentials" not in allowed


# ---- methods ------------------------------------------------------------------------------------

METHOD_ROUTES = [
    route for route in routes("public") + routes("tenant") if route.is_api or route.host == "tenant"
]


@pytest.mark.parametrize("route", METHOD_ROUTES, ids=lambda r: f"{r.host} {r.path}")
def test_trace_and_unknown_methods_are_405(world: World, route: Route, loose_rates: Any) -> None:
    host = "localhost" if route.host == "public" else world.acme.host
    token = world.acme.tokens[Role.OWNER] if route.host == "tenant" else None
    client = api_client(host, token)
    path = fill(route, {**world.acme.ids(), "uid": "MQ"})
    for method in ("TRACE", "CONNECT", "PROPFIND", "FOO"):
        response = client.generic(method, path)
        assert response.status_code == 405, (method, response.status_code)
        assert response["Allow"], method


def test_the_oauth_endpoints_refuse_other_methods(world: World) -> None:
    client = api_client("localhost")
    for path in ("/o/token/", "/o/revoke_token/", "/o/introspect/"):
        for method in ("TRACE", "PUT", "DELETE", "GET"):
            assert client.generic(method, path).status_code == 405, (method, path)
    assert form_post(client, "/o/token/", {"grant_type": "password"}).status_code in (400, 401)
