"""The OAuth2 sign-in and consent pages in a real browser, for an application whose redirect
URI is on another origin (as every real client's is): the consent form is answered with a
redirect there, which the page's Content-Security-Policy (form-action) must allow, and
nothing on either page is refused by it."""

import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from playwright.sync_api import Page, Route, expect

from accounts.models import Role
from accounts.oauth.models import OAuthApplication
from accounts.oauth.services import oauth_application_create
from billing.models import Plan
from tests.accounts.oauth.conftest import pkce_pair
from tests.browser.conftest import page_problems
from tests.conftest import RunningServer
from tests.factories import PASSWORD

pytestmark = pytest.mark.slow

CALLBACK = "https://client.example/callback"


def test_consenting_redirects_to_the_applications_own_origin(
    committed: None,
    start_server: Callable[..., RunningServer],
    browser_page: Page,
    make_tenant: Callable,
    make_member: Callable,
) -> None:
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
        redirect_uris=[CALLBACK],
        scopes=["read"],
    )
    page = browser_page
    problems = page_problems(page)
    arrived: list[str] = []

    def client_site(route: Route) -> None:  # the client's origin, answered in the browser
        arrived.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p>client</p>")

    page.route(re.compile(r"^https://client\.example/"), client_site)
    _, challenge = pkce_pair()
    query = (
        f"response_type=code&client_id={registered.application.client_id}"
        f"&redirect_uri={CALLBACK}&code_challenge={challenge}"
        "&code_challenge_method=S256&scope=read&state=s1"
    )
    page.goto(f"http://localhost:{server.port}/o/authorize/?{query}")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.locator("#id_username").fill(owner.email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Authorize Client elsewhere?")).to_be_visible()
    page.get_by_role("button", name="Authorize").click()
    expect(page).to_have_url(re.compile(r"^https://client\.example/callback\?"))

    assert len(arrived) == 1
    answer = parse_qs(urlsplit(arrived[0]).query)
    assert answer["state"] == ["s1"]
    assert answer["code"][0]
    assert not problems, "\n".join(problems)
