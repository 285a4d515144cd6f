"""The OAuth2 sign-in and consent pages in a real browser, for an application whose redirect
URI is on another origin (as every real client's is): the consent form is answered with a
redirect there, which the page's Content-Security-Policy (form-action) must allow, and
nothing on either page is refused by it."""

import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from accounts.models import OAuthApplication, Role
from accounts.oauth.services import oauth_application_create
from billing.models import Plan
from tests.factories import PASSWORD
from tests.support.browser import page_problems
from tests.support.oauth import pkce_pair
from tests.support.processes import RunningServer

pytestmark = pytest.mark.slow


class _ClientSite(BaseHTTPRequestHandler):
    """The application's own site: another origin than the server's (a port of its own on
    loopback, so the browser reaches it with no network at all). Records what arrives."""

    arrived: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.arrived.append(self.path)
        body = b"<!doctype html><title>client</title><p>client</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def client_site() -> Iterator[tuple[str, list[str]]]:
    arrived: list[str] = []
    handler = type("ClientSite", (_ClientSite,), {"arrived": arrived})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", arrived
    server.shutdown()
    server.server_close()


def test_consenting_redirects_to_the_applications_own_origin(
    committed: None,
    start_server: Callable[..., RunningServer],
    browser_page: Page,
    make_tenant: Callable,
    make_member: Callable,
    client_site: tuple[str, list[str]],
) -> None:
    client_origin, arrived = client_site
    callback = f"{client_origin}/callback"
    server = start_server()
    Plan.objects.filter(code=settings.BILLING_SIGNUP_PLAN).update(features=["api"])
    tenant = make_tenant("consentpage")
    owner = make_member(tenant, Role.OWNER)
    registered = oauth_application_create(
        tenant=tenant,
        user_id=owner.pk,
        by_role=Role.OWNER,
        name="Client elsewhere",
        grant_type=OAuthApplication.GRANT_AUTHORIZATION_CODE,
        client_type=OAuthApplication.CLIENT_PUBLIC,
        redirect_uris=[callback],
        scopes=["read"],
    )
    page = browser_page
    problems = page_problems(page)
    _, challenge = pkce_pair()
    query = (
        f"response_type=code&client_id={registered.application.client_id}"
        f"&redirect_uri={callback}&code_challenge={challenge}"
        "&code_challenge_method=S256&scope=read&state=s1"
    )
    page.goto(f"http://localhost:{server.port}/o/authorize/?{query}")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.locator("#id_username").fill(owner.email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Authorize Client elsewhere?")).to_be_visible()
    page.get_by_role("button", name="Authorize").click()
    expect(page).to_have_url(re.compile("^" + re.escape(callback) + r"\?"))

    callbacks = [path for path in arrived if path.startswith("/callback?")]
    assert len(callbacks) == 1  # (the browser may also ask the site for its icon)
    answer = parse_qs(urlsplit(callbacks[0]).query)
    assert answer["state"] == ["s1"]
    assert answer["code"][0]
    assert not problems, "\n".join(problems)
