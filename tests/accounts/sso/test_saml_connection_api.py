"""A SAML 2.0 connection at /api/v1/sso/ (protocol "saml"): configured by the owner or an
admin, on a plan with `sso`, from a real IdP's metadata (given as XML or fetched from its
URL on loopback); hostile XML (XXE, billion laughs, external DTDs) refused by defusedxml;
every change audited; a domain belongs to one organization; bad input leaves nothing. Our SP
metadata is served per tenant host."""

import base64
import hashlib
from typing import Any

import pytest
from defusedxml.ElementTree import fromstring

from accounts.sso.models import SsoConnection, SsoDomain
from saas.audit.models import AuditEntry
from tests.factories import Org, client_for
from tests.support.domains import DnsServer
from tests.support.http import assert_error
from tests.support.oidc_idp import OidcProvider
from tests.support.saml_idp import SamlIdp
from tests.support.sso import saml_configure, sso_configure, sso_domain_prove

MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"


@pytest.fixture
def pro(acme: Org) -> Org:
    return acme.on_plan("pro")


def _entries(org: Org, action: str) -> list[AuditEntry]:
    with org.tenant:
        return list(AuditEntry.objects.filter(action=action).order_by("id"))


def _nothing_saved() -> None:
    assert not SsoConnection.objects.exists()
    assert not SsoDomain.objects.exists()


def test_owner_configures_from_metadata_xml_shows_and_deletes(pro: Org, saml_idp: SamlIdp) -> None:
    created = saml_configure(pro, saml_idp, policy="enforced", default_role="viewer")
    assert created.status_code == 200, created.content
    body = created.json()
    host = f"http://{pro.tenant.slug}."
    assert body["protocol"] == "saml"
    assert body["idp_entity_id"] == saml_idp.entity_id
    assert body["idp_sso_url"] == saml_idp.sso_url
    assert body["idp_sso_binding"] == "redirect"
    assert body["idp_metadata_url"] == ""
    der = base64.b64decode(saml_idp.keys.cert_b64)
    assert body["idp_certificate_fingerprints"] == [hashlib.sha256(der).digest().hex(":").upper()]
    assert body["sp_entity_id"].startswith(host)
    assert body["sp_entity_id"].endswith("/api/v1/sso/saml/metadata/")
    assert body["acs_url"].startswith(host)
    assert body["acs_url"].endswith("/api/v1/sso/saml/acs/")
    assert [(d["domain"], d["verified"]) for d in body["domains"]] == [("acme.test", False)]
    assert (body["policy"], body["default_role"]) == ("enforced", "viewer")
    assert body["has_client_secret"] is False
    assert (body["issuer"], body["client_id"]) == ("", "")
    assert created["Cache-Control"] == "no-store"

    connection = SsoConnection.objects.get(tenant=pro.tenant)
    assert connection.idp_certificates == [saml_idp.keys.cert_b64]
    shown = pro.client.get("/api/v1/sso/")
    assert shown.status_code == 200
    assert shown.json() == body

    (entry,) = _entries(pro, "sso.configured")
    assert entry.actor_id == pro.user.pk
    assert entry.changes["protocol"] == {"before": None, "after": "saml"}
    assert entry.changes["idp_entity_id"] == {"before": None, "after": saml_idp.entity_id}
    assert entry.changes["idp_certificates"] == {"before": 0, "after": 1}
    assert "secret_rotated" not in entry.changes
    assert saml_idp.keys.cert_b64 not in str(entry.changes)

    assert pro.client.delete("/api/v1/sso/").status_code == 204
    _nothing_saved()
    (deleted,) = _entries(pro, "sso.deleted")
    assert deleted.changes["issuer"] == {"before": saml_idp.entity_id, "after": None}


def test_metadata_fetched_from_a_url(pro: Org, saml_idp: SamlIdp) -> None:
    saml_idp.post_only = True
    response = saml_configure(
        pro, saml_idp, idp_metadata_xml=None, idp_metadata_url=saml_idp.metadata_url
    )
    assert response.status_code == 200, response.content
    assert response.json()["idp_metadata_url"] == saml_idp.metadata_url
    assert response.json()["idp_sso_binding"] == "post"
    connection = SsoConnection.objects.get(tenant=pro.tenant)
    assert connection.idp_entity_id == saml_idp.entity_id


def test_a_metadata_url_that_does_not_answer_or_is_not_metadata_is_400(
    pro: Org, saml_idp: SamlIdp, oidc_idp: OidcProvider
) -> None:
    for url in (
        "http://127.0.0.1:9/metadata",  # nothing listens
        f"{saml_idp.base_url}/nothing-here",  # 404
        f"{oidc_idp.issuer}/.well-known/openid-configuration",  # JSON, not XML
    ):
        response = pro.client.put(
            "/api/v1/sso/",
            {"protocol": "saml", "idp_metadata_url": url, "domains": ["acme.test"]},
            format="json",
        )
        error = assert_error(response, 400, "sso_metadata_invalid")
        assert "idp_metadata_url" in error["fields"]
    _nothing_saved()


def test_private_metadata_urls_are_refused_outside_dev_and_test(
    pro: Org, saml_idp: SamlIdp, settings: Any
) -> None:
    settings.SSO_ALLOW_PRIVATE_NETWORKS = False
    port = saml_idp.base_url.rsplit(":", 1)[1]
    for url, why in (
        (saml_idp.metadata_url, "https"),
        (f"https://127.0.0.1:{port}/metadata", "public internet"),
        ("https://169.254.169.254/latest/meta-data", "public internet"),
    ):
        body = {"protocol": "saml", "idp_metadata_url": url, "domains": ["acme.test"]}
        error = assert_error(
            pro.client.put("/api/v1/sso/", body, format="json"), 400, "sso_metadata_invalid"
        )
        assert why in error["message"]
    assert saml_idp.requests == []
    _nothing_saved()


def test_an_sso_url_on_a_private_address_is_refused_outside_dev_and_test(
    pro: Org, saml_idp: SamlIdp, settings: Any
) -> None:
    settings.SSO_ALLOW_PRIVATE_NETWORKS = False
    error = assert_error(saml_configure(pro, saml_idp), 400, "sso_metadata_invalid")
    assert "SingleSignOnService" in error["message"]
    _nothing_saved()


XXE = (
    '<?xml version="1.0"?><!DOCTYPE md [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
    'entityID="&xxe;"/>'
)
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">'
    '<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">'
    '<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">'
    '<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">'
    '<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">'
    '<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>'
    '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
    'entityID="&lol9;"/>'
)
EXTERNAL_DTD = (
    '<?xml version="1.0"?><!DOCTYPE md SYSTEM "http://127.0.0.1:9/evil.dtd">'
    '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>'
)


@pytest.mark.parametrize(
    "payload", [XXE, BILLION_LAUGHS, EXTERNAL_DTD], ids=["xxe", "billion-laughs", "external-dtd"]
)
def test_hostile_xml_is_refused(pro: Org, saml_idp: SamlIdp, payload: str) -> None:
    error = assert_error(
        saml_configure(pro, saml_idp, idp_metadata_xml=payload), 400, "sso_metadata_invalid"
    )
    assert "forbidden XML construct" in error["message"]
    assert "idp_metadata_xml" in error["fields"]
    assert "root:" not in str(error)  # /etc/passwd was not read
    _nothing_saved()


def test_hostile_xml_behind_a_metadata_url_is_refused(pro: Org, saml_idp: SamlIdp) -> None:
    saml_idp.metadata = lambda: XXE  # type: ignore[method-assign]
    body = {"protocol": "saml", "idp_metadata_url": saml_idp.metadata_url, "domains": ["a.test"]}
    error = assert_error(
        pro.client.put("/api/v1/sso/", body, format="json"), 400, "sso_metadata_invalid"
    )
    assert "forbidden XML construct" in error["message"]
    _nothing_saved()


def _broken(saml_idp: SamlIdp, old: str, new: str) -> str:
    metadata = saml_idp.metadata()
    assert old in metadata
    return metadata.replace(old, new)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (("", "<not xml"), "not well-formed"),
        (("md:EntityDescriptor", "md:Other"), "no EntityDescriptor"),
        (("IDPSSODescriptor", "SPSSODescriptor"), "exactly one identity provider"),
        (('use="signing"', 'use="encryption"'), "no signing certificate"),
        (("<ds:X509Certificate>", "<ds:X509Certificate>AAAA"), "not X.509"),
        (("protocolSupportEnumeration", "protocolSupport"), "SAML 2.0 protocol"),
        (("bindings:HTTP-", "bindings:SOAP-"), "no SingleSignOnService"),
    ],
)
def test_unusable_metadata_is_400(
    pro: Org, saml_idp: SamlIdp, change: tuple[str, str], why: str
) -> None:
    old, new = change
    xml = new if not old else _broken(saml_idp, old, new)
    error = assert_error(
        saml_configure(pro, saml_idp, idp_metadata_xml=xml), 400, "sso_metadata_invalid"
    )
    assert why in error["message"], error["message"]
    _nothing_saved()


@pytest.mark.parametrize(
    "fields",
    [
        {"idp_metadata_xml": None},  # neither XML nor URL
        {"idp_metadata_url": "http://127.0.0.1:9/m"},  # both
        {"issuer": "http://127.0.0.1:9"},  # an OIDC field
        {"client_secret": "s"},
        {"protocol": "ws-fed"},
    ],
)
def test_mixed_or_missing_fields_are_400(
    pro: Org, saml_idp: SamlIdp, fields: dict[str, Any]
) -> None:
    response = saml_configure(pro, saml_idp, **fields)
    assert_error(response, 400)
    _nothing_saved()


def test_oidc_without_its_fields_is_400(pro: Org) -> None:
    body = {"protocol": "oidc", "domains": ["acme.test"]}
    error = assert_error(pro.client.put("/api/v1/sso/", body, format="json"), 400)
    assert {"issuer", "client_id"} <= set(error["fields"])


def test_a_plan_without_sso_is_402(acme: Org, saml_idp: SamlIdp) -> None:
    error = assert_error(saml_configure(acme, saml_idp), 402, "entitlement_exceeded")
    assert "sso" in error["message"]
    _nothing_saved()


@pytest.mark.parametrize("role", ["member", "viewer", "billing"])
def test_only_owner_and_admins_manage_it(pro: Org, saml_idp: SamlIdp, role: str) -> None:
    other = pro.join(role)
    assert_error(saml_configure(other, saml_idp), 403)
    _nothing_saved()
    assert saml_configure(pro.join("admin"), saml_idp).status_code == 200


def test_a_domain_claimed_by_another_organization_is_409(
    pro: Org, beta: Org, saml_idp: SamlIdp, other_saml_idp: SamlIdp, dns_server: DnsServer
) -> None:
    """Claimed means proven: an unproven listing blocks nobody (test_domain_verification)."""
    assert saml_configure(pro, saml_idp).status_code == 200
    sso_domain_prove(pro, dns_server)
    beta.on_plan("pro")
    error = assert_error(
        saml_configure(beta, other_saml_idp, domains=["beta.test", "acme.test"]),
        409,
        "sso_domain_claimed",
    )
    assert "acme.test" in error["message"]
    assert not SsoConnection.objects.filter(tenant=beta.tenant).exists()
    assert_error(beta.client.get("/api/v1/sso/"), 404, "sso_not_configured")
    assert _entries(beta, "sso.configured") == []


def test_switching_protocols_clears_the_other_ones_fields(
    pro: Org, saml_idp: SamlIdp, oidc_idp: OidcProvider
) -> None:
    assert sso_configure(pro, oidc_idp).status_code == 200
    assert saml_configure(pro, saml_idp).status_code == 200
    connection = SsoConnection.objects.get(tenant=pro.tenant)
    assert (connection.protocol, connection.issuer, connection.client_secret_encrypted) == (
        "saml",
        "",
        "",
    )
    # Back to OIDC: the secret is required again (the SAML connection had none).
    body = {"issuer": oidc_idp.issuer, "client_id": "c", "domains": ["acme.test"]}
    error = assert_error(pro.client.put("/api/v1/sso/", body, format="json"), 400)
    assert "client_secret" in error["fields"]
    assert sso_configure(pro, oidc_idp).status_code == 200
    connection.refresh_from_db()
    assert (connection.protocol, connection.idp_entity_id, connection.idp_certificates) == (
        "oidc",
        "",
        [],
    )


def test_our_sp_metadata_per_tenant_host(pro: Org, beta: Org, saml_idp: SamlIdp) -> None:
    saml_configure(pro, saml_idp)
    shown = pro.client.get("/api/v1/sso/").json()
    for org in (pro, beta):
        response = client_for(org.tenant).get("/api/v1/sso/saml/metadata/")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/samlmetadata+xml")
        root = fromstring(response.content)
        entity_id = root.get("entityID")
        assert entity_id == f"http://{org.tenant.slug}.{shown['sp_entity_id'].split('.', 1)[1]}"
        acs = root.find(f"{MD}SPSSODescriptor/{MD}AssertionConsumerService")
        assert acs is not None
        assert acs.get("Location") == entity_id.replace("/saml/metadata/", "/saml/acs/")
        assert acs.get("Binding") == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    acme_metadata = client_for(pro.tenant).get("/api/v1/sso/saml/metadata/")
    assert fromstring(acme_metadata.content).get("entityID") == shown["sp_entity_id"]
