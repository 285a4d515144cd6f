"""The SAML 2.0 login, end to end with a real SAML IdP on loopback (tests/support/saml_idp.py,
signing with signxml): our tenant host (a Django test client) redirects to the IdP with an
AuthnRequest, the IdP's page answers with a signed response posted to our ACS, which hands a
one-time code to the landing page, exchanged for the tenant-bound JWT pair. Every bad answer
(unsigned, a rogue key, wrong issuer, audience, destination, expired, another domain,
replayed, wrapped) is a 4xx in the error format that provisions nobody."""

import base64
import zlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from accounts.models import Membership, User
from accounts.sso.models import SsoLoginCode, SsoLoginState
from tests.factories import Org, client_for
from tests.support.http import assert_error
from tests.support.saml_idp import SamlIdp
from tests.support.sso import (
    acs_post,
    one_time_code,
    saml_configure,
    saml_idp_round_trip,
    saml_login,
)


@pytest.fixture
def pro(acme: Org, saml_idp: SamlIdp) -> Org:
    """acme on Pro, with SAML single sign-on through `saml_idp` for acme.test (new people
    join as viewers)."""
    acme.on_plan("pro")
    configured = saml_configure(acme, saml_idp, default_role="viewer")
    assert configured.status_code == 200, configured.content
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
    assert stored.request_id and stored.request_id in request_xml

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
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens.json()['access']}"}
    assert client_for(pro.tenant).get("/api/v1/projects/", **bearer).status_code == 200
    assert client_for(beta.tenant).get("/api/v1/projects/", **bearer).status_code == 401
    _nobody("ada@beta.test")
