"""The links we send people, followed in a real browser: the invitation email's link
accepted on its landing page (and refused the second time, in words), and Stripe's Checkout
paid with a test card, landing on the organization's billing page."""

import re
from collections.abc import Callable
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from billing.services.catalog import catalog_sync_to_stripe
from tests.support.processes import RunningServer, SmtpSink, body_text

pytestmark = pytest.mark.slow

OWNER = {"email": "owner@pages.test", "password": "correct-horse-battery"}
INVITEE = "ada@pages.test"


def _post(server: RunningServer, path: str, host: str, body: dict, auth: dict) -> Any:
    return requests.post(server.url + path, json=body, headers={"Host": host, **auth}, timeout=30)


def _organization(server: RunningServer, slug: str) -> tuple[str, dict[str, str]]:
    """Signs up `slug`; returns its host (with the port: links are built from it) and the
    owner's auth header."""
    signup = server.post(
        "/api/v1/signup/", "localhost", json={"name": slug.title(), "slug": slug, **OWNER}
    )
    assert signup.status_code == 201, signup.text
    host = f"{slug}.localhost:{server.port}"
    token = server.login(host, OWNER["email"], OWNER["password"]).token
    return host, {"Authorization": f"Bearer {token}"}


def test_the_invitation_link_joins_in_the_browser(
    mail: SmtpSink,
    start_server: Callable[..., RunningServer],
    browser_page: Page,
) -> None:
    server = start_server()
    host, auth = _organization(server, "pagesinvite")
    invitation = {"email": INVITEE, "role": "member"}
    invited = _post(server, "/api/v1/invitations/", host, invitation, auth)
    assert invited.status_code == 201, invited.text
    link = re.search(r"http://\S+/invitations/\S+", body_text(mail.wait_for(INVITEE)))
    assert link is not None
    assert link.group(0).startswith(f"http://{host}/invitations/")

    page = browser_page
    page.goto(link.group(0))
    expect(page.get_by_role("heading")).to_have_text("Join Pagesinvite")
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Password").fill("analytical-engine-1843")
    page.get_by_role("button", name="Join Pagesinvite").click()
    expect(page.get_by_role("status")).to_contain_text("You are now a member of Pagesinvite")
    assert server.login(host, INVITEE, "analytical-engine-1843").token

    page.goto(link.group(0))  # the link works once
    page.get_by_label("Password").fill("analytical-engine-1843")
    page.get_by_role("button", name="Join Pagesinvite").click()
    expect(page.get_by_role("alert")).to_contain_text("This invitation was already used.")


def test_checkout_paid_in_the_browser_lands_on_the_billing_page(
    committed: None,
    stripe_emulator: object,
    start_server: Callable[..., RunningServer],
    browser_page: Page,
) -> None:
    catalog_sync_to_stripe()
    server = start_server()
    host, auth = _organization(server, "pagescheckout")
    checkout = _post(server, "/api/v1/billing/checkout/", host, {"price": "starter-monthly"}, auth)
    assert checkout.status_code == 201, checkout.text

    page = browser_page
    page.goto(checkout.json()["url"])
    page.locator("input[name=payment_method][value=pm_card_visa]").check()
    page.get_by_role("button", name=re.compile("Pay|Subscribe|Start trial")).click()

    page.wait_for_url(f"http://{host}/billing?checkout=success")
    expect(page.get_by_role("heading")).to_have_text("Thank you")
    expect(page.get_by_role("status")).to_contain_text("Your payment went through")


def test_the_password_reset_link_sets_a_new_password_in_the_browser(
    mail: SmtpSink,
    start_server: Callable[..., RunningServer],
    browser_page: Page,
) -> None:
    server = start_server()
    host, _ = _organization(server, "pagesreset")
    asked = _post(server, "/api/v1/auth/password/reset/", host, {"email": OWNER["email"]}, {})
    assert asked.status_code == 200, asked.text
    link = re.search(r"http://\S+/reset-password/\S+", body_text(mail.wait_for(OWNER["email"])))
    assert link is not None

    page = browser_page
    page.goto(link.group(0))
    page.get_by_label("New password").fill("short")
    page.get_by_label("The same again").fill("short")
    page.get_by_role("button", name="Set the password").click()
    expect(page.get_by_role("alert")).to_contain_text("too short")  # the API's own words
    page.get_by_label("New password").fill("a-much-better-passphrase")
    page.get_by_label("The same again").fill("a-much-better-passphrase")
    page.get_by_role("button", name="Set the password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password is changed")
    assert server.login(host, OWNER["email"], "a-much-better-passphrase").token
