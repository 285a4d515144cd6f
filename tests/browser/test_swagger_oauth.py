"""Swagger UI's "Authorize" with OAuth2 (authorization code with PKCE), in a real browser
against the real server on a port of its own (not OAUTH_PUBLIC_URL's): the schema's OAuth2
endpoints are on the host and port the docs came from, the sign-in and consent pages open in
Swagger UI's popup, /api/docs/oauth2-redirect.html hands the code back, and the token then
calls the organization's host ("Try it out")."""

from collections.abc import Callable

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from accounts.models import OAuthApplication, Role
from accounts.oauth.services import oauth_application_create
from billing.models import Plan
from tests.factories import PASSWORD
from tests.support.browser import page_problems
from tests.support.processes import RunningServer

pytestmark = pytest.mark.slow

SLUG = "swaggeroauth"


def test_authorize_with_oauth2_then_call_the_organizations_host(
    committed: None,
    start_server: Callable[..., RunningServer],
    browser_page: Page,
    make_tenant: Callable,
    make_member: Callable,
) -> None:
    server = start_server()
    origin = f"http://localhost:{server.port}"
    assert f":{server.port}" not in settings.OAUTH_PUBLIC_URL
    Plan.objects.filter(code=settings.BILLING_SIGNUP_PLAN).update(features=["api"])
    tenant = make_tenant(SLUG)
    owner = make_member(tenant, Role.OWNER)
    registered = oauth_application_create(
        tenant=tenant,
        user_id=owner.pk,
        by_role=Role.OWNER,
        name="API docs",
        grant_type=OAuthApplication.GRANT_AUTHORIZATION_CODE,
        client_type=OAuthApplication.CLIENT_PUBLIC,
        redirect_uris=[f"{origin}/api/docs/oauth2-redirect.html"],
        scopes=["read"],
    )

    page = browser_page
    problems = page_problems(page)
    page.goto(f"{origin}/api/docs/")
    expect(page.locator(".information-container .title")).to_contain_text("SaaS")

    page.locator(".auth-wrapper button.authorize").click()
    oauth = page.locator(".modal-ux .auth-container").filter(has_text="authorizationCode")
    oauth.locator("#client_id_authorizationCode").fill(registered.application.client_id)
    oauth.locator("label[for='read-authorizationCode-checkbox-oauth2']").click()
    with page.expect_popup() as opened:
        oauth.locator("button.authorize").click()
    popup = opened.value
    popup_problems = page_problems(popup)  # the sign-in and consent pages, under their CSP
    # The popup signs in and consents on the public host, on this server's port.
    expect(popup.get_by_role("heading", name="Sign in")).to_be_visible()
    assert popup.url.startswith(f"{origin}/o/login/")
    popup.locator("#id_username").fill(owner.email)
    popup.locator("#id_password").fill(PASSWORD)
    popup.get_by_role("button", name="Sign in").click()
    expect(popup.get_by_role("heading", name="Authorize API docs?")).to_be_visible()
    with popup.expect_event("close"):
        popup.get_by_role("button", name="Authorize").click()

    # Back in Swagger UI: the code was exchanged for a token at /o/token/.
    expect(oauth.locator("button", has_text="Logout")).to_be_visible()
    page.locator(".modal-ux button.btn-done").first.click()

    tenant_server = f"http://{{tenant}}.localhost:{server.port}"
    page.locator(".servers select").select_option(tenant_server)
    page.locator(".servers table input").fill(SLUG)
    block = page.locator("#operations-projects-projects_list")
    block.locator(".opblock-summary").first.click()
    block.get_by_role("button", name="Try it out").click()
    block.get_by_role("button", name="Execute").click()
    status = block.locator(".live-responses-table .response .response-col_status").first
    expect(status).to_have_text("200")

    assert not problems + popup_problems, "\n".join(problems + popup_problems)
