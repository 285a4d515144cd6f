"""The SSO login in a real browser: our tenant host redirects to a real OIDC provider on
loopback (another origin), its sign-in page posts back and redirects to our callback, which
redirects to the landing page; the page's script exchanges the one-time code for the pair,
with nothing refused by its Content-Security-Policy. The same through a real SAML IdP, whose
answer page posts to our assertion consumer service."""

import json
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Membership, User
from tenants.models import Tenant
from tests.factories import make_invitation
from tests.support.browser import page_problems
from tests.support.oidc_idp import OidcProvider
from tests.support.processes import RunningServer
from tests.support.pysaml2_idp import Pysaml2Idp
from tests.support.saml_idp import SamlIdp
from tests.support.sso import live_saml_organization, live_sso_organization

pytestmark = pytest.mark.slow


def test_signing_in_through_the_provider_ends_on_the_landing_page(
    committed: None,
    start_server: Callable[..., RunningServer],
    browser_page: Page,
    oidc_idp: OidcProvider,
) -> None:
    server = start_server()
    host, _ = live_sso_organization(server, "ssopage", oidc_idp)
    page = browser_page
    problems = page_problems(page)

    page.goto(f"http://{host}/api/v1/sso/login/?email=grace@ssopage.test")
    expect(page.get_by_role("heading", name="Test IdP sign-in")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("grace@ssopage.test")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_text("Signed in as grace@ssopage.test")).to_be_visible()
    assert re.fullmatch(rf"http://{re.escape(host)}/sso/complete", page.url)  # code gone
    tokens = json.loads(page.evaluate("sessionStorage.getItem('saas.tokens')"))
    assert set(tokens) == {"access", "refresh"}
    assert Membership.objects.get(user__email="grace@ssopage.test").tenant.slug == "ssopage"
    assert not problems, "\n".join(problems)


def test_a_spent_code_shows_the_apis_message(
    committed: None,
    start_server: Callable[..., RunningServer],
    browser_page: Page,
) -> None:
    server = start_server()
    signup = server.post(
        "/api/v1/signup/",
        "localhost",
        json={
            "name": "x",
            "slug": "ssospent",
            "email": "o@ssospent.test",
            "password": "correct-horse-battery-2026",
        },
    )
    assert signup.status_code == 201
    browser_page.goto(f"http://ssospent.localhost:{server.port}/sso/complete#code=made-up")
    expect(browser_page.get_by_role("alert")).to_have_text("Unknown, used or expired sign-in code.")


def test_signing_in_through_a_saml_idp_ends_on_the_landing_page(
    committed: None,
    start_server: Callable[..., RunningServer],
    browser_page: Page,
    saml_idp: SamlIdp,
) -> None:
    """SAML: our host redirects to the IdP with an AuthnRequest, its page's "Continue" leads
    to its answer page, whose form posts itself (cross-origin) to our ACS, which redirects to
    the landing page."""
    server = start_server()
    host, _ = live_saml_organization(server, "samlpage", saml_idp)
    page = browser_page
    problems = page_problems(page)

    page.goto(f"http://{host}/api/v1/sso/login/?email=grace@samlpage.test")
    expect(page.get_by_role("heading", name="Test SAML IdP sign-in")).to_be_visible()
    page.get_by_label("Email").fill("grace@samlpage.test")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_text("Signed in as grace@samlpage.test")).to_be_visible()
    assert re.fullmatch(rf"http://{re.escape(host)}/sso/complete", page.url)  # code gone
    tokens = json.loads(page.evaluate("sessionStorage.getItem('saas.tokens')"))
    assert set(tokens) == {"access", "refresh"}
    assert Membership.objects.get(user__email="grace@samlpage.test").tenant.slug == "samlpage"
    assert len(saml_idp.responses) == 1
    assert not problems, "\n".join(problems)


def test_a_saml_idp_with_the_post_binding_is_reached_by_our_posting_page(
    committed: None,
    start_server: Callable[..., RunningServer],
    browser_page: Page,
    saml_idp: SamlIdp,
) -> None:
    """Our login page posts the AuthnRequest by itself: its script runs under its CSP (by
    hash) and its form may lead to the IdP's origin."""
    saml_idp.post_only = True
    server = start_server()
    host, _ = live_saml_organization(server, "samlpost", saml_idp)
    page = browser_page
    problems = page_problems(page)

    page.goto(f"http://{host}/api/v1/sso/login/")
    expect(page.get_by_role("heading", name="Test SAML IdP sign-in")).to_be_visible()
    assert page.url == saml_idp.sso_url
    page.get_by_label("Email").fill("lin@samlpost.test")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_text("Signed in as lin@samlpost.test")).to_be_visible()
    assert len(saml_idp.requests) == 1
    assert not problems, "\n".join(problems)


def test_signing_in_through_pysaml2s_idp(
    committed: None,
    start_server: Callable[..., RunningServer],
    browser_page: Page,
    pysaml2_idp: Pysaml2Idp,
) -> None:
    """The same through pysaml2's IdP, which reads our AuthnRequest against our SP metadata
    and signs its answer with xmlsec1."""
    server = start_server()
    host, _ = live_saml_organization(server, "pysamlpage", pysaml2_idp)
    page = browser_page
    problems = page_problems(page)

    page.goto(f"http://{host}/api/v1/sso/login/")
    expect(page.get_by_role("heading", name="pysaml2 IdP sign-in")).to_be_visible()
    page.get_by_label("Email").fill("ken@pysamlpage.test")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_text("Signed in as ken@pysamlpage.test")).to_be_visible()
    assert re.fullmatch(rf"http://{re.escape(host)}/sso/complete", page.url)
    assert len(pysaml2_idp.responses) == 1
    assert not problems, "\n".join(problems)


def test_an_invitation_under_an_enforced_policy_joins_through_the_provider(
    committed: None,
    start_server: Callable[..., RunningServer],
    browser_page: Page,
    oidc_idp: OidcProvider,
) -> None:
    """The invitation page of an organization enforcing single sign-on for the invitee's
    (verified) domain: the API's refusal in words, with a link to the login, which joins them
    with the invitation's role."""
    server = start_server()
    host, _ = live_sso_organization(server, "ssoinvite", oidc_idp, policy="enforced")
    owner = User.objects.get(email="owner@ssoinvite.test")
    tenant = Tenant.objects.get(slug="ssoinvite")
    token = make_invitation(tenant, owner, "ada@ssoinvite.test", role="admin")
    page = browser_page
    problems = page_problems(page)

    page.goto(f"http://{host}/invitations/{token}")
    page.get_by_label("Password").fill("analytical-engine-1843")
    page.get_by_role("button", name="Join Ssoinvite").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("requires single sign-on")
    assert not User.objects.filter(email="ada@ssoinvite.test").exists()

    alert.get_by_role("link", name="Sign in with single sign-on").click()
    expect(page.get_by_role("heading", name="Test IdP sign-in")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("ada@ssoinvite.test")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Signed in as ada@ssoinvite.test")).to_be_visible()
    ada = Membership.objects.get(user__email="ada@ssoinvite.test", tenant=tenant)
    assert ada.role == "admin"
    assert not ada.user.has_usable_password()
    # Only the refused accept, which the page showed in words; nothing refused by its CSP.
    assert problems == [
        "Failed to load resource: the server responded with a status of 403 (Forbidden)"
    ], "\n".join(problems)
