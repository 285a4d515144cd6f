"""Swagger UI "Try it out" on a tenant endpoint, in a real browser against the real server:
the docs come from the public host, the calls go to the organization's host (another
origin), with the JWT given in the Authorize dialog. Nothing may be blocked on the way: no
CSP violation, no CORS refusal."""

import json
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.support.browser import page_problems
from tests.support.processes import RunningServer

pytestmark = pytest.mark.slow

OWNER = {"email": "owner@swagger.test", "password": "correct-horse-battery"}
SLUG = "swagger"


def _operation(page: Page, operation_id: str) -> Locator:
    """An operation's block, opened, with "Try it out" pressed."""
    block = page.locator(f"#operations-projects-{operation_id}")
    block.locator(".opblock-summary").first.click()
    block.get_by_role("button", name="Try it out").click()
    return block


def _execute(block: Locator) -> Locator:
    """Executes and returns the status cell of the live response."""
    block.get_by_role("button", name="Execute").click()
    status = block.locator(".live-responses-table .response .response-col_status").first
    expect(status).to_be_visible()
    return status


def test_try_it_out_calls_the_organizations_host(
    committed: None, start_server: Callable[..., RunningServer], browser_page: Page
) -> None:
    server = start_server()
    signup = server.post(
        "/api/v1/signup/", "localhost", json={"name": "Swagger", "slug": SLUG, **OWNER}
    )
    assert signup.status_code == 201, signup.text
    token = server.login(f"{SLUG}.localhost", OWNER["email"], OWNER["password"]).token

    page = browser_page
    problems = page_problems(page)
    page.goto(f"http://localhost:{server.port}/api/docs/")
    expect(page.locator(".information-container .title")).to_contain_text("SaaS")

    # Authorize: the bearer token from the organization's login. (Swagger UI's buttons
    # carry aria-labels of their own, so they are found by class and text.)
    page.locator(".auth-wrapper button.authorize").click()
    jwt = page.locator(".modal-ux .auth-container").filter(has_text="jwtAuth")
    jwt.locator("input").fill(token)
    jwt.locator("button.authorize").click()
    expect(jwt.locator("button", has_text="Logout")).to_be_visible()
    page.locator(".modal-ux button.btn-done").first.click()

    # The organization's server, its slug in the {tenant} variable.
    tenant_server = f"http://{{tenant}}.localhost:{server.port}"
    page.locator(".servers select").select_option(tenant_server)
    page.locator(".servers table input").fill(SLUG)
    expect(page.locator(".servers .computed-url code")).to_have_text(
        f"http://{SLUG}.localhost:{server.port}"
    )

    listing = _operation(page, "projects_list")
    expect(_execute(listing)).to_have_text("200")
    request_url = listing.locator(".request-url pre").first
    tenant_url = f"http://{SLUG}.localhost:{server.port}/api/v1/projects/"
    expect(request_url).to_have_text(re.compile("^" + re.escape(tenant_url)))

    create = _operation(page, "projects_create")
    create.locator("textarea.body-param__text").fill(json.dumps({"name": "Rocket"}))
    expect(_execute(create)).to_have_text("201")
    body = create.locator(".live-responses-table .response .response-col_description")
    expect(body).to_contain_text('"name": "Rocket"')

    assert not problems, problems
