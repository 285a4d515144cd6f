"""OWASP API7:2023 Server Side Request Forgery: the API fetches a URL a caller supplied,
so the caller reaches what the server can reach (metadata services, internal hosts).

What this product exposes: it fetches one URL a caller gives, an organization's single
sign-on issuer (owner or admin only), and only https to public addresses outside dev and
test (no redirects followed, bounded time and size), and posts to another, an organization's
webhook endpoints (owner or admin only; the same guards, the address resolved once and
connected to, checked at registration and at each delivery: tests/webhooks_out); no other.
Its outbound connections go to Stripe (STRIPE_API_BASE), the mail server (EMAIL_URL),
PostgreSQL, Redis and Sentry, all set by the operator. The URL-shaped values callers do give
are only compared or handed on: OAuth2 redirect URIs (the browser is redirected there,
nothing is fetched), CORS origins (compared with the Origin header), the Host a request came
in on (emailed links and Stripe's return URLs are built from it, and it can only be a tenant
host: other hosts are refused), and URLs inside Stripe's events (the handlers fetch the
object from Stripe by id instead). There are no avatar or logo URLs. Probed here:

- the product's code imports an HTTP client only where the operator's services are called
  (a new one fails this test until it is looked at for SSRF);
- a loopback listener set as every URL-shaped input (a CORS origin, an OAuth2 redirect URI
  driven through the whole authorization-code flow, names and descriptions, the port of the
  Host, URLs inside a signed Stripe event) receives no connection;
- those inputs are validated: CORS origins and redirect URIs are http(s) only, without
  credentials, paths or fragments where they make no sense; production allows only https
  redirect URIs; an unregistered redirect URI is never redirected to; a forwarded host never
  makes an emailed link.
"""

import re
import socket
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django.test import Client

import accounts.services as account_services
from accounts.models import OAuthApplication, Role
from accounts.oauth.services import oauth_application_create
from billing.models import EventState, WebhookEvent
from billing.services.subscriptions import billing_customer_ready
from billing.webhooks.services import webhook_event_process
from tenants.resolution import tenant_cache_invalidate
from tests.support.http import assert_error
from tests.support.oauth import App, consent_fields, form_post, pkce_pair
from tests.support.owasp import ConnectionRecorder, World, api_client, caller_client
from tests.support.processes import REPO
from tests.support.webhooks import fixture_event, fixture_object

pytestmark = pytest.mark.django_db

PRODUCT = ("accounts", "api", "billing", "saas", "tenants", "config")
HTTP_CLIENT = re.compile(
    r"^\s*(?:import|from)\s+(requests|httpx|urllib3|aiohttp|pycurl|http\.client|urllib\.request"
    r"|smtplib|socket)\b",
    re.MULTILINE,
)
# Where the product may talk to the network, and to whom. The dev tools that do (the `saas`
# command probing local servers, the offline Stripe posting webhooks) live in packages/,
# which production does not install.
OUTBOUND = {
    "billing/gateway.py": "Stripe at STRIPE_API_BASE (the operator's setting)",
    "saas/tasks.py": "smtplib's error classes; mail goes to EMAIL_URL through Django",
    "tenants/domains/checks.py": (
        "a custom domain's HTTP token: addresses it resolved itself, public ones only outside "
        "dev and test (tests/tenants/test_custom_domains.py)"
    ),
    # The one URL a caller gives that is fetched: an SSO issuer (its discovery document,
    # JWKS and token endpoint). Outside dev and test only https to public addresses, no
    # redirects, bounded time and size (test_an_sso_issuer_reaches_no_private_address).
    "accounts/sso/http.py": "an organization's OpenID Connect provider (SSRF-guarded)",
    # Outbound webhooks: POSTs to an organization's registered endpoints, to addresses it
    # resolved and checked itself, public ones only outside dev and test, no redirects, bounded
    # time and size (tests/webhooks_out/test_delivery.py, test_endpoints.py).
    "saas/webhooks_out/network.py": "an organization's webhook endpoints (SSRF-guarded)",
    # The one request the three above make to a host an organization names: to an address the
    # caller resolved and checked, never to the name again (DNS rebinding;
    # test_an_sso_issuer_that_rebinds_to_loopback_is_not_reached).
    "saas/pinned_http.py": "an address its caller resolved and checked",
}


def test_only_known_modules_open_connections() -> None:
    found = {}
    for package in PRODUCT:
        for path in (REPO / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            if match := HTTP_CLIENT.search(path.read_text()):
                found[str(path.relative_to(REPO))] = match.group(1)
    assert set(found) <= set(OUTBOUND), found
    assert "billing/gateway.py" in found  # the scan sees what it should


def _authorize(world: World, app: OAuthApplication, redirect_uri: str) -> Any:
    browser = Client(HTTP_HOST="localhost")
    browser.force_login(world.acme.owner)
    _, challenge = pkce_pair()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": redirect_uri,
            "state": "s1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "scope": "read",
        }
    )
    return browser, browser.get(f"/o/authorize/?{query}")


def test_no_url_a_caller_gives_is_fetched(
    world: World, recorder: ConnectionRecorder, catalog: None, post_event: Any
) -> None:
    url = recorder.url
    acme = world.acme
    owner = caller_client(world, Role.OWNER)
    # A CORS origin, then a browser's preflight from it.
    patched = owner.patch("/api/v1/organization/", {"cors_allowed_origins": [url]}, format="json")
    assert patched.status_code == 200, patched.content
    tenant_cache_invalidate()  # what the commit would do: hosts are cached per generation
    preflight = owner.options(
        "/api/v1/projects/", HTTP_ORIGIN=url, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert preflight["Access-Control-Allow-Origin"] == url
    # Names and descriptions holding URLs.
    owner.post("/api/v1/projects/", {"name": url, "description": f"{url}/x"}, format="json")
    owner.patch("/api/v1/auth/user/", {"full_name": url}, format="json")
    # An OAuth2 redirect URI, through consent and the code exchange.
    registered = oauth_application_create(
        tenant=acme.tenant,
        user_id=acme.owner.pk,
        by_role=Role.OWNER,
        name=url,
        grant_type=OAuthApplication.GRANT_AUTHORIZATION_CODE,
        redirect_uris=[f"{url}/callback"],
        scopes=["read"],
    )
    browser, page = _authorize(world, registered.application, f"{url}/callback")
    assert page.status_code == 200, page.content
    approved = form_post(
        browser, "/o/authorize/", {**consent_fields(page.content.decode()), "allow": "on"}
    )
    assert approved.status_code == 302
    assert approved["Location"].startswith(f"{url}/callback?")
    # The Host's port, which Stripe's return URLs are built from.
    on_port = api_client(f"{acme.host}:{recorder.port}", acme.tokens[Role.OWNER])
    checkout = on_port.post(
        "/api/v1/billing/checkout/", {"price": "starter-monthly"}, format="json"
    )
    assert checkout.status_code == 201, checkout.content
    # URLs inside a signed Stripe event: the handler asks Stripe, by id, instead.
    account = billing_customer_ready(tenant_id=acme.tenant.pk)
    invoice = fixture_object(
        "invoice",
        id="in_not_at_stripe",
        customer=account.stripe_customer_id,
        hosted_invoice_url=f"{url}/invoice",
        invoice_pdf=f"{url}/invoice.pdf",
    )
    event = fixture_event("invoice.finalized", invoice)
    assert post_event(event).status_code == 200
    row = WebhookEvent.objects.get(stripe_event_id=event["id"])
    webhook_event_process(event_pk=row.pk)
    row.refresh_from_db()
    assert row.state == EventState.FAILED  # Stripe was asked for the invoice: it has none
    time.sleep(0.3)  # anything started in the background has had time to connect
    assert recorder.connections == []


# ---- validation of the URL-shaped inputs -----------------------------------------------------

BAD_ORIGINS = [
    "javascript:alert(1)",
    "file:///etc/passwd",
    "ftp://files.example",
    "gopher://x.example",
    "http://user:pass@x.example",
    "https://x.example/path",
    "https://x.example?q=1",
    "https://x.example#f",
    "*",
    "null",
    "x.example",
    "https://x.example:99999",
]


@pytest.mark.parametrize("origin", BAD_ORIGINS)
def test_cors_origins_are_http_origins_only(world: World, origin: str) -> None:
    owner = caller_client(world, Role.OWNER)
    refused = owner.patch(
        "/api/v1/organization/", {"cors_allowed_origins": [origin]}, format="json"
    )
    assert "cors_allowed_origins" in assert_error(refused, 400, "invalid")["fields"]


BAD_REDIRECT_URIS = [
    pytest.param("javascript:alert(1)", id="javascript"),
    pytest.param("data:text/html,<script>x</script>", id="data"),
    pytest.param("file:///etc/passwd", id="file"),
    pytest.param("ftp://files.example/cb", id="ftp"),
    pytest.param("/relative/callback", id="relative"),
    pytest.param("https://app.example/cb#fragment", id="fragment"),
    pytest.param("https://user:secret@app.example/cb", id="credentials"),
    pytest.param("https://user@app.example/cb", id="username"),
]


@pytest.mark.parametrize("uri", BAD_REDIRECT_URIS)
def test_redirect_uris_are_http_urls_without_credentials(world: World, uri: str) -> None:
    owner = caller_client(world, Role.OWNER)
    body = {
        "name": "Callback",
        "grant_type": "authorization-code",
        "redirect_uris": [uri],
        "scopes": ["read"],
    }
    refused = owner.post("/api/v1/oauth/applications/", body, format="json")
    assert "redirect_uris" in assert_error(refused, 400, "invalid")["fields"]
    app_id = world.acme.app.pk
    changed = owner.patch(
        f"/api/v1/oauth/applications/{app_id}/", {"redirect_uris": [uri]}, format="json"
    )
    assert "redirect_uris" in assert_error(changed, 400, "invalid")["fields"]


def test_production_allows_only_https_redirect_uris(production: dict[str, Any]) -> None:
    assert production["settings"]["redirect_uri_schemes"] == ["https"]


def test_an_unregistered_redirect_uri_is_never_redirected_to(
    world: World, recorder: ConnectionRecorder
) -> None:
    registered = oauth_application_create(
        tenant=world.acme.tenant,
        user_id=world.acme.owner.pk,
        by_role=Role.OWNER,
        name="Registered",
        grant_type=OAuthApplication.GRANT_AUTHORIZATION_CODE,
        redirect_uris=["https://app.example/callback"],
        scopes=["read"],
    )
    for other in (
        f"{recorder.url}/callback",
        "https://app.example/callback/../evil",
        "https://app.example.evil.example/callback",
    ):
        _, page = _authorize(world, registered.application, other)
        assert page.status_code == 400, (other, page.status_code)
        assert "Location" not in page
    assert App(registered.application, registered.client_secret).client_id


def test_forwarded_hosts_never_make_an_emailed_link(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(account_services, "email_send_later", lambda **kw: sent.append(kw))
    admin = caller_client(world, Role.ADMIN)
    created = admin.post(
        "/api/v1/invitations/",
        {"email": "linked@example.test"},
        format="json",
        HTTP_X_FORWARDED_HOST="evil.example",
        HTTP_FORWARDED="host=evil.example",
    )
    assert created.status_code == 201, created.content
    assert urlsplit(sent[0]["context"]["url"]).hostname == world.acme.host
    elsewhere = api_client("evil.example", world.acme.tokens[Role.ADMIN])
    assert elsewhere.post(
        "/api/v1/invitations/", {"email": "x@example.test"}, format="json"
    ).status_code in (400, 404)
    assert len(sent) == 1


def test_the_recorder_records(recorder: ConnectionRecorder) -> None:
    """The listener the probe above relies on does see a connection."""
    import socket

    with socket.create_connection(("127.0.0.1", recorder.port), timeout=2) as connection:
        connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
    deadline = time.monotonic() + 2
    while not recorder.connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert recorder.connections


def test_the_allowances_name_real_modules() -> None:
    """An allowance for a module that is gone would let a new one in under its name."""
    assert all((REPO / package).is_dir() for package in PRODUCT)
    assert [module for module in OUTBOUND if not (REPO / module).is_file()] == []


@pytest.mark.parametrize("private", ["recorder", "https://127.0.0.1:{port}", "https://10.0.0.1"])
def test_an_sso_issuer_reaches_no_private_address(
    world: World, recorder: ConnectionRecorder, settings: Any, private: str
) -> None:
    """As in production (SSO_ALLOW_PRIVATE_NETWORKS off): an issuer on loopback or a private
    network is refused before any connection, with a 400 naming the field."""
    settings.SSO_ALLOW_PRIVATE_NETWORKS = False
    issuer = recorder.url if private == "recorder" else private.format(port=recorder.port)
    owner = caller_client(world, Role.OWNER)
    body = {"issuer": issuer, "client_id": "x", "client_secret": "y", "domains": ["acme.test"]}
    refused = owner.put("/api/v1/sso/", body, format="json")
    error = assert_error(refused, 400, "sso_issuer_invalid")
    assert "issuer" in error["fields"]
    time.sleep(0.3)
    assert recorder.connections == []


def test_an_sso_issuer_that_rebinds_to_loopback_is_not_reached(
    world: World, recorder: ConnectionRecorder, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the issuer's name resolves to a public address when it is checked and to
    loopback when it is resolved again. The call connects to the address that was checked
    (saas.pinned_http), so the loopback listener never sees a connection. The resolver and the
    public connection are the seams stubbed (no packet leaves this machine)."""
    settings.SSO_ALLOW_PRIVATE_NETWORKS = False
    settings.SSO_HTTP_TIMEOUT = (0.5, 0.5)
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.create_connection
    lookups: list[str] = []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "idp.rebind.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        address = "93.184.215.14" if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    def loopback_only(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        if address[0] != "127.0.0.1":
            raise ConnectionRefusedError(f"no route to {address[0]} in this test")
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(socket, "create_connection", loopback_only)
    owner = caller_client(world, Role.OWNER)
    issuer = f"https://idp.rebind.test:{recorder.port}"
    body = {"issuer": issuer, "client_id": "x", "client_secret": "y", "domains": ["acme.test"]}
    refused = owner.put("/api/v1/sso/", body, format="json")
    assert_error(refused, 400, "sso_issuer_invalid")
    assert lookups == ["idp.rebind.test"]  # resolved once: checked and connected to
    time.sleep(0.3)
    assert recorder.connections == []
