"""Our SAML service provider against pysaml2's IdP, an implementation we did not write
(tests/support/pysaml2_idp.py): its metadata configures the connection (fetched by URL), it
reads our AuthnRequest against our SP metadata, and its signed answer signs the person in;
its default signature algorithm, RSA-SHA1, is refused."""

import pytest

from accounts.models import Membership
from accounts.sso.models import SsoLoginCode
from tests.factories import Org, client_for
from tests.support.domains import DnsServer
from tests.support.http import assert_error
from tests.support.pysaml2_idp import SHA1, Pysaml2Idp
from tests.support.sso import (
    acs_post,
    one_time_code,
    saml_configure,
    saml_idp_round_trip,
    sso_domain_prove,
)


@pytest.fixture
def pro(acme: Org, pysaml2_idp: Pysaml2Idp, dns_server: DnsServer) -> Org:
    """acme on Pro, its connection configured from pysaml2's metadata URL, and our SP
    metadata registered at pysaml2."""
    acme.on_plan("pro")
    configured = saml_configure(
        acme, pysaml2_idp, idp_metadata_xml=None, idp_metadata_url=pysaml2_idp.metadata_url
    )
    assert configured.status_code == 200, configured.content
    assert configured.json()["idp_entity_id"] == pysaml2_idp.entity_id
    sso_domain_prove(acme, dns_server)
    pysaml2_idp.sp_register(
        client_for(acme.tenant).get("/api/v1/sso/saml/metadata/").content.decode()
    )
    return acme


def test_pysaml2s_answer_signs_a_new_person_in(pro: Org, pysaml2_idp: Pysaml2Idp) -> None:
    client = client_for(pro.tenant)
    start = client.get("/api/v1/sso/login/", {"email": "ada@acme.test"})
    acs_url, form = saml_idp_round_trip(start, pysaml2_idp, "ada@acme.test")
    assert acs_url.endswith("/api/v1/sso/saml/acs/")
    code = one_time_code(acs_post(client, acs_url, form))
    tokens = client.post("/api/v1/sso/token/", {"code": code}, format="json")
    assert tokens.status_code == 200, tokens.content
    assert tokens.json()["user"]["email"] == "ada@acme.test"
    assert Membership.objects.filter(user__email="ada@acme.test", tenant=pro.tenant).exists()


def test_an_answer_signed_with_rsa_sha1_is_refused(pro: Org, pysaml2_idp: Pysaml2Idp) -> None:
    pysaml2_idp.sign_alg = SHA1
    client = client_for(pro.tenant)
    acs_url, form = saml_idp_round_trip(
        client.get("/api/v1/sso/login/"), pysaml2_idp, "ada@acme.test"
    )
    error = assert_error(acs_post(client, acs_url, form), 401, "sso_assertion_invalid")
    assert "rsa-sha1" in error["message"]
    assert not Membership.objects.filter(user__email="ada@acme.test").exists()
    assert not SsoLoginCode.objects.exists()
