"""The SAML 2.0 login, end to end with a real SAML IdP on loopback (tests/support/saml_idp.py,
signing with signxml): our tenant host (a Django test client) redirects to the IdP with an
AuthnRequest, the IdP's page answers with a signed response posted to our ACS, which hands a
one-time code to the landing page, exchanged for the tenant-bound JWT pair. Every bad answer
(unsigned, a rogue key, wrong issuer, audience, destination, expired, another domain,
replayed, wrapped) is a 4xx in the error format that provisions nobody."""

import base64
import re
import threading
import zlib
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.db import connection
from django.utils import timezone

from accounts.models import Membership, User
from accounts.sso.models import SsoLoginCode, SsoLoginState
from tests.factories import PASSWORD, Org, client_for, make_member, make_user
from tests.support.domains import DnsServer
from tests.support.http import assert_error
from tests.support.saml_idp import SamlIdp
from tests.support.sso import (
    acs_post,
    one_time_code,
    saml_configure,
    saml_idp_continue,
    saml_idp_round_trip,
    sso_domain_prove,
)


@pytest.fixture
def pro(acme: Org, saml_idp: SamlIdp, dns_server: DnsServer) -> Org:
    """acme on Pro, with SAML single sign-on through `saml_idp` for acme.test, proven by its
    TXT record (new people join as viewers)."""
    acme.on_plan("pro")
    configured = saml_configure(acme, saml_idp, default_role="viewer")
    assert configured.status_code == 200, configured.content
    sso_domain_prove(acme, dns_server)
    return acme


def _nobody(email: str) -> None:
    assert not User.objects.filter(email__iexact=email).exists()


def _exchange(client: Any, code: str) -> Any:
    return client.post("/api/v1/sso/token/", {"code": code}, format="json")


def test_a_new_person_is_provisioned_and_gets_the_tenant_bound_pair(
    pro: Org, beta: Org, saml_idp: SamlIdp
) -> None:
    client = client_for(pro.tenant)
    start = client.get("/api/v1/sso/login/", {"email": "ada@acme.test"})
    assert start.status_code == 302, start.content
    assert start["Cache-Control"] == "no-store"
    query = parse_qs(urlsplit(start["Location"]).query)
    request_xml = zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), -15).decode()
    assert "AuthnRequest" in request_xml
    relay_state = query["RelayState"][0]
    stored = SsoLoginState.objects.get(tenant=pro.tenant)
    assert stored.state_hash != relay_state  # only its hash is kept
    assert stored.request_id
    assert f'ID="{stored.request_id}"' in request_xml

    acs_url, form = saml_idp_round_trip(start, saml_idp, "Ada@Acme.test")
    (request,) = saml_idp.requests
    assert request["id"] == stored.request_id
    assert request["acs_url"] == acs_url
    assert request["acs_url"].endswith("/api/v1/sso/saml/acs/")
    assert request["sp_entity_id"].endswith("/api/v1/sso/saml/metadata/")
    assert form["RelayState"] == relay_state

    answer = acs_post(client, acs_url, form)
    assert answer["Cache-Control"] == "no-store"
    code = one_time_code(answer)
    assert answer["Location"].startswith(f"http://{pro.tenant.slug}.")
    assert not SsoLoginState.objects.exists()  # spent

    ada = User.objects.get(email="ada@acme.test")
    assert not ada.has_usable_password()
    assert Membership.objects.get(user=ada, tenant=pro.tenant).role == "viewer"

    assert_error(_exchange(client_for(beta.tenant), code), 401, "sso_code_invalid")
    tokens = _exchange(client, code)
    assert tokens.status_code == 200, tokens.content
    assert tokens.json()["user"]["email"] == "ada@acme.test"
    assert not SsoLoginCode.objects.exists()
    bearer = f"Bearer {tokens.json()['access']}"
    for org, status in ((pro, 200), (beta, 401)):
        projects = client_for(org.tenant).get("/api/v1/projects/", HTTP_AUTHORIZATION=bearer)
        assert projects.status_code == status
    _nobody("ada@beta.test")


def _answer(client: Any, idp: SamlIdp, email: str, **answer: Any) -> tuple[str, dict[str, str]]:
    """A login started on `client`'s host, answered by the IdP as `answer` says: the ACS URL
    and the form its page would post."""
    for name, value in answer.items():
        setattr(idp.answer, name, value)
    start = client.get("/api/v1/sso/login/")
    return saml_idp_round_trip(start, idp, email)


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({"sign": "none"}, "No Signature found"),
        ({"rogue": True}, "Signature validation failed"),
        ({"sign": "response", "rogue": True}, "Signature validation failed"),
        ({"issuer": "http://idp.evil.test/metadata"}, "Invalid issuer"),
        ({"audience": "http://beta.example/api/v1/sso/saml/metadata/"}, "not a valid audience"),
        ({"destination": "http://acme.evil.test/api/v1/sso/saml/acs/"}, "was received at"),
        ({"in_response_to": "_another-request"}, "InResponseTo"),
        ({"clock_offset": -3600}, "expired"),
        ({"clock_offset": 3600}, "Could not validate timestamp: not yet valid"),
        ({"name_id": "u-12345"}, "no email"),
    ],
)
def test_a_bad_answer_is_refused_and_provisions_nobody(
    pro: Org, saml_idp: SamlIdp, answer: dict[str, Any], why: str
) -> None:
    client = client_for(pro.tenant)
    acs_url, form = _answer(client, saml_idp, "eve@acme.test", **answer)
    error = assert_error(acs_post(client, acs_url, form), 401, "sso_assertion_invalid")
    assert why.lower() in error["message"].lower(), error["message"]
    _nobody("eve@acme.test")
    assert not SsoLoginCode.objects.exists()
    assert not SsoLoginState.objects.exists()  # spent all the same: no second try


@pytest.mark.parametrize("wrap", ["forged_first", "signed_moved"])
def test_signature_wrapping_is_refused(pro: Org, saml_idp: SamlIdp, wrap: str) -> None:
    """A correctly signed assertion for eve, and a forged, unsigned one for the CEO beside
    it (or in its place, the signed one hidden in its signature's ds:Object)."""
    client = client_for(pro.tenant)
    acs_url, form = _answer(
        client, saml_idp, "eve@acme.test", wrap=wrap, forged_email="ceo@acme.test"
    )
    assert_error(acs_post(client, acs_url, form), 401, "sso_assertion_invalid")
    _nobody("ceo@acme.test")
    _nobody("eve@acme.test")


def test_a_tampered_answer_is_refused(pro: Org, saml_idp: SamlIdp) -> None:
    client = client_for(pro.tenant)
    acs_url, form = _answer(client, saml_idp, "eve@acme.test", sign="both")
    xml = base64.b64decode(form["SAMLResponse"]).replace(b"eve@acme.test", b"ceo@acme.test")
    form["SAMLResponse"] = base64.b64encode(xml).decode()
    error = assert_error(acs_post(client, acs_url, form), 401, "sso_assertion_invalid")
    assert "signature" in error["message"].lower()
    _nobody("ceo@acme.test")


@pytest.mark.parametrize("sign", ["response", "both"])
def test_a_signed_response_is_accepted_too(pro: Org, saml_idp: SamlIdp, sign: str) -> None:
    client = client_for(pro.tenant)
    answer = acs_post(client, *_answer(client, saml_idp, "ada@acme.test", sign=sign))
    assert _exchange(client, one_time_code(answer)).status_code == 200


def test_the_email_may_come_as_an_attribute(pro: Org, saml_idp: SamlIdp) -> None:
    client = client_for(pro.tenant)
    form = _answer(client, saml_idp, "ada@acme.test", name_id="u-1", email_attribute=True)
    one_time_code(acs_post(client, *form))
    assert Membership.objects.filter(user__email="ada@acme.test", tenant=pro.tenant).exists()


def test_another_domains_email_is_refused(pro: Org, saml_idp: SamlIdp) -> None:
    client = client_for(pro.tenant)
    acs_url, form = _answer(client, saml_idp, "eve@beta.test")
    assert_error(acs_post(client, acs_url, form), 403, "sso_email_not_allowed")
    _nobody("eve@beta.test")


def test_a_replayed_answer_is_refused(pro: Org, saml_idp: SamlIdp) -> None:
    client = client_for(pro.tenant)
    acs_url, form = _answer(client, saml_idp, "ada@acme.test")
    one_time_code(acs_post(client, acs_url, form))
    assert_error(acs_post(client, acs_url, form), 400, "sso_state_invalid")
    # With the RelayState of a login started afresh: that request's ID is not InResponseTo.
    fresh = parse_qs(urlsplit(client.get("/api/v1/sso/login/")["Location"]).query)
    replay = {**form, "RelayState": fresh["RelayState"][0]}
    error = assert_error(acs_post(client, acs_url, replay), 401, "sso_assertion_invalid")
    assert "InResponseTo" in error["message"]
    assert SsoLoginCode.objects.count() == 1  # the first login's only


def test_an_expired_login_is_refused(pro: Org, saml_idp: SamlIdp) -> None:
    client = client_for(pro.tenant)
    acs_url, form = _answer(client, saml_idp, "ada@acme.test")
    SsoLoginState.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(acs_post(client, acs_url, form), 400, "sso_state_expired")
    _nobody("ada@acme.test")


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"RelayState": "x"},
        {"SAMLResponse": "PHg+"},
        {"SAMLResponse": "PHg+", "RelayState": "x", "extra": "1"},
    ],
)
def test_incomplete_posts_are_400(pro: Org, form: dict[str, str]) -> None:
    response = acs_post(client_for(pro.tenant), "/api/v1/sso/saml/acs/", form)
    assert_error(response, 400)


XXE = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&x;</samlp:Response>'
)


@pytest.mark.parametrize(
    "saml_response",
    [
        "not base64 at all!",
        base64.b64encode(b"<not xml").decode(),
        base64.b64encode(XXE.encode()).decode(),
    ],
)
def test_a_malformed_response_is_400(pro: Org, saml_idp: SamlIdp, saml_response: str) -> None:
    client = client_for(pro.tenant)
    acs_url, form = _answer(client, saml_idp, "ada@acme.test")
    error = assert_error(acs_post(client, acs_url, {**form, "SAMLResponse": saml_response}), 400)
    assert "SAMLResponse" in error["fields"]
    _nobody("ada@acme.test")


def test_acmes_answer_cannot_be_used_on_betas_host(
    pro: Org, beta: Org, saml_idp: SamlIdp, dns_server: DnsServer
) -> None:
    """beta, with a connection to the same IdP for its own domain: acme's answer is for
    acme's SP (audience, destination) and acme's login (RelayState, InResponseTo)."""
    beta.on_plan("pro")
    assert saml_configure(beta, saml_idp).status_code == 200
    sso_domain_prove(beta, dns_server)
    acme_client, beta_client = client_for(pro.tenant), client_for(beta.tenant)
    acs_url, form = _answer(acme_client, saml_idp, "ada@acme.test")
    beta_acs = acs_url.replace("acme.", "beta.", 1)
    assert_error(acs_post(beta_client, beta_acs, form), 400, "sso_state_invalid")
    fresh = parse_qs(urlsplit(beta_client.get("/api/v1/sso/login/")["Location"]).query)
    mixed = {**form, "RelayState": fresh["RelayState"][0]}
    assert_error(acs_post(beta_client, beta_acs, mixed), 401, "sso_assertion_invalid")
    _nobody("ada@acme.test")
    # beta's own login through the same IdP for an acme.test address: not beta's domain.
    acs_url, form = _answer(beta_client, saml_idp, "ada@acme.test")
    assert_error(acs_post(beta_client, acs_url, form), 403, "sso_email_not_allowed")
    _nobody("ada@acme.test")
    # acme's login still works: its state was not touched by beta's attempts.
    assert (
        acs_post(acme_client, *_answer(acme_client, saml_idp, "ada@acme.test")).status_code == 302
    )


def test_an_oidc_state_or_callback_does_not_mix_with_saml(pro: Org, saml_idp: SamlIdp) -> None:
    client = client_for(pro.tenant)
    acs_url, form = _answer(client, saml_idp, "ada@acme.test")
    callback = client.get("/api/v1/sso/callback/", {"state": form["RelayState"], "code": "x"})
    assert_error(callback, 400, "sso_state_invalid")
    _nobody("ada@acme.test")


def test_login_start_refusals(pro: Org, beta: Org) -> None:
    client = client_for(pro.tenant)
    assert_error(
        client.get("/api/v1/sso/login/", {"email": "x@beta.test"}), 400, "sso_domain_not_covered"
    )
    assert_error(client_for(beta.tenant).get("/api/v1/sso/login/"), 404, "sso_not_configured")
    assert not SsoLoginState.objects.exists()


def test_the_idp_with_the_post_binding_only(
    acme: Org, saml_idp: SamlIdp, dns_server: DnsServer
) -> None:
    """The login page posts the AuthnRequest (a form, submitted by its script, allowed by
    its CSP by hash, and aimed at the IdP's origin only); a JSON client gets the form."""
    saml_idp.post_only = True
    acme.on_plan("pro")
    configured = saml_configure(acme, saml_idp)
    assert configured.json()["idp_sso_binding"] == "post"
    sso_domain_prove(acme, dns_server)
    client = client_for(acme.tenant)
    page = client.get("/api/v1/sso/login/", HTTP_ACCEPT="text/html,*/*;q=0.8")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    policy = page["Content-Security-Policy"]
    assert f"form-action 'self' {saml_idp.base_url}" in policy
    script_src = policy.split("script-src")[1].split(";")[0]
    assert "'sha256-" in script_src
    assert "unsafe-inline" not in script_src
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.content.decode()))
    assert f'action="{saml_idp.sso_url}"' in page.content.decode()
    idp_page = requests.post(saml_idp.sso_url, data=fields, timeout=10)
    assert idp_page.status_code == 200
    answer = acs_post(client, *saml_idp_continue(idp_page.text, saml_idp, "ada@acme.test"))
    assert _exchange(client, one_time_code(answer)).status_code == 200

    as_json = client.get("/api/v1/sso/login/", HTTP_ACCEPT="application/json")
    assert as_json.status_code == 200
    assert as_json.json()["location"] == saml_idp.sso_url
    assert set(as_json.json()["form"]) == {"SAMLRequest", "RelayState"}


def test_a_client_asking_for_json_gets_the_address_in_a_body(pro: Org, saml_idp: SamlIdp) -> None:
    client = client_for(pro.tenant)
    acs_url, form = _answer(client, saml_idp, "ada@acme.test")
    answer = acs_post(client, acs_url, form, HTTP_ACCEPT="application/json")
    assert answer.status_code == 200
    assert answer.json()["location"].split("#code=")[0].endswith("/sso/complete")


def test_two_posts_of_one_answer_at_once_sign_in_once(
    committed: None, make_org: Any, saml_idp: SamlIdp, dns_server: DnsServer
) -> None:
    org = make_org("acme").on_plan("pro")
    assert saml_configure(org, saml_idp).status_code == 200
    sso_domain_prove(org, dns_server)
    acs_url, form = _answer(client_for(org.tenant), saml_idp, "ada@acme.test")
    results: list[int] = []
    barrier = threading.Barrier(2)

    def post() -> None:
        client = client_for(org.tenant)
        barrier.wait()
        results.append(acs_post(client, acs_url, form).status_code)
        connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [302, 400]
    assert SsoLoginCode.objects.count() == 1
    assert Membership.objects.filter(user__email="ada@acme.test").count() == 1


def test_an_enforced_saml_connection_refuses_password_login_except_the_owner(
    pro: Org, saml_idp: SamlIdp
) -> None:
    pro.user.email = "owner@acme.test"
    pro.user.save()
    in_domain = make_member(pro.tenant, "admin", user=make_user(email="al@acme.test"))
    assert saml_configure(pro, saml_idp, policy="enforced").status_code == 200

    def password_login(email: str) -> Any:
        body = {"email": email, "password": PASSWORD}
        return client_for(pro.tenant).post("/api/v1/auth/login/", body, format="json")

    assert_error(password_login(in_domain.email), 403, "sso_required")
    assert password_login(pro.user.email).status_code == 200  # break-glass
    # The member signs in through the IdP instead, keeping their role.
    client = client_for(pro.tenant)
    code = one_time_code(acs_post(client, *_answer(client, saml_idp, "al@acme.test")))
    assert _exchange(client, code).json()["user"]["email"] == "al@acme.test"
    assert Membership.objects.get(user=in_domain, tenant=pro.tenant).role == "admin"
