"""The SSO connection at /api/v1/sso/: configured by the owner or an admin, on a plan with
`sso`, against a real OIDC provider on loopback; the client secret encrypted and never shown;
every change audited; a domain belongs to one organization; bad input leaves nothing."""

import pytest

from accounts.sso.crypto import secret_decrypt
from accounts.sso.models import SsoConnection, SsoDomain
from saas.audit.models import AuditEntry
from tests.factories import Org
from tests.support.domains import DnsServer
from tests.support.http import assert_error
from tests.support.oidc_idp import OidcProvider
from tests.support.sso import sso_configure, sso_domain_prove


@pytest.fixture
def pro(acme: Org) -> Org:
    return acme.on_plan("pro")


def _entries(org: Org, action: str) -> list[AuditEntry]:
    with org.tenant:
        return list(AuditEntry.objects.filter(action=action).order_by("id"))


def test_owner_configures_shows_and_deletes(pro: Org, oidc_idp: OidcProvider) -> None:
    created = sso_configure(pro, oidc_idp, policy="enforced", default_role="viewer")
    assert created.status_code == 200, created.content
    body = created.json()
    assert body["issuer"] == oidc_idp.issuer
    (domain,) = body["domains"]
    assert (domain["domain"], domain["verified"], domain["verified_at"]) == (
        "acme.test",
        False,
        None,
    )
    assert body["policy"] == "enforced"
    assert body["default_role"] == "viewer"
    assert body["has_client_secret"] is True
    assert body["redirect_uri"].endswith("/api/v1/sso/callback/")
    assert "client_secret" not in body
    assert created["Cache-Control"] == "no-store"

    connection = SsoConnection.objects.get(tenant=pro.tenant)
    secret = oidc_idp.clients[body["client_id"]]
    assert secret not in connection.client_secret_encrypted
    assert secret_decrypt(connection.client_secret_encrypted) == secret
    assert connection.token_endpoint == f"{oidc_idp.issuer}/token"

    shown = pro.client.get("/api/v1/sso/")
    assert shown.status_code == 200
    assert shown.json() == body
    assert secret not in shown.content.decode()

    (entry,) = _entries(pro, "sso.configured")
    assert entry.actor_id == pro.user.pk
    assert entry.changes["secret_rotated"] == {"before": None, "after": True}
    assert entry.changes["domains"] == {"before": None, "after": ["acme.test"]}
    assert secret not in str(entry.changes)

    assert pro.client.delete("/api/v1/sso/").status_code == 204
    assert not SsoConnection.objects.exists()
    assert not SsoDomain.objects.exists()
    assert len(_entries(pro, "sso.deleted")) == 1
    assert_error(pro.client.get("/api/v1/sso/"), 404, "sso_not_configured")
    assert_error(pro.client.delete("/api/v1/sso/"), 404, "sso_not_configured")


def test_replacing_keeps_the_secret_when_omitted(pro: Org, oidc_idp: OidcProvider) -> None:
    first = sso_configure(pro, oidc_idp).json()
    stored = SsoConnection.objects.get(tenant=pro.tenant).client_secret_encrypted
    body = {
        "issuer": oidc_idp.issuer,
        "client_id": first["client_id"],
        "domains": ["acme.test", "Acme.Example."],
        "policy": "enforced",
    }
    replaced = pro.client.put("/api/v1/sso/", body, format="json")
    assert replaced.status_code == 200, replaced.content
    assert [d["domain"] for d in replaced.json()["domains"]] == ["acme.test", "acme.example"]
    assert SsoConnection.objects.get(tenant=pro.tenant).client_secret_encrypted == stored
    latest = _entries(pro, "sso.configured")[-1]
    assert latest.changes["policy"] == {"before": "optional", "after": "enforced"}
    assert "secret_rotated" not in latest.changes


def test_the_secret_is_required_the_first_time(pro: Org, oidc_idp: OidcProvider) -> None:
    body = {"issuer": oidc_idp.issuer, "client_id": "x", "domains": ["acme.test"]}
    error = assert_error(pro.client.put("/api/v1/sso/", body, format="json"), 400)
    assert "client_secret" in error["fields"]
    assert not SsoConnection.objects.exists()


@pytest.mark.parametrize("role", ["member", "viewer", "billing"])
def test_only_owner_and_admins_manage_it(pro: Org, oidc_idp: OidcProvider, role: str) -> None:
    sso_configure(pro, oidc_idp)
    other = pro.join(role)
    assert_error(other.client.get("/api/v1/sso/"), 403)
    assert_error(sso_configure(other, oidc_idp), 403)
    assert_error(other.client.delete("/api/v1/sso/"), 403)
    assert SsoConnection.objects.filter(tenant=pro.tenant).exists()


def test_an_admin_may(pro: Org, oidc_idp: OidcProvider) -> None:
    assert sso_configure(pro.join("admin"), oidc_idp).status_code == 200


def test_a_plan_without_sso_is_402(acme: Org, oidc_idp: OidcProvider) -> None:
    error = assert_error(sso_configure(acme, oidc_idp), 402, "entitlement_exceeded")
    assert "sso" in error["message"]
    assert not SsoConnection.objects.exists()


def test_another_organization_sees_nothing(pro: Org, beta: Org, oidc_idp: OidcProvider) -> None:
    sso_configure(pro, oidc_idp)
    beta.on_plan("pro")
    assert_error(beta.client.get("/api/v1/sso/"), 404, "sso_not_configured")
    assert_error(beta.client.delete("/api/v1/sso/"), 404, "sso_not_configured")
    assert SsoConnection.objects.filter(tenant=pro.tenant).exists()


def test_a_domain_another_organization_verified_is_409(
    pro: Org, beta: Org, oidc_idp: OidcProvider, other_idp: OidcProvider, dns_server: DnsServer
) -> None:
    """(One another organization only listed is not: tests/accounts/sso/
    test_domain_verification.py, the squatting rule.)"""
    sso_configure(pro, oidc_idp, domains=["acme.test"])
    sso_domain_prove(pro, dns_server)
    beta.on_plan("pro")
    error = assert_error(
        sso_configure(beta, other_idp, domains=["beta.test", "ACME.test"]),
        409,
        "sso_domain_claimed",
    )
    assert "acme.test" in error["message"]
    assert not SsoConnection.objects.filter(tenant=beta.tenant).exists()
    assert set(SsoDomain.objects.values_list("domain", flat=True)) == {"acme.test"}
    assert _entries(beta, "sso.configured") == []


@pytest.mark.parametrize(
    "domains",
    [["not a domain"], ["localhost"], ["gmail.com"], ["acme.test", "-bad-.test"], []],
)
def test_bad_domains_are_400(pro: Org, oidc_idp: OidcProvider, domains: list[str]) -> None:
    error = assert_error(sso_configure(pro, oidc_idp, domains=domains), 400)
    assert "domains" in error["fields"]
    assert not SsoConnection.objects.exists()


def test_the_owner_role_cannot_be_the_default(pro: Org, oidc_idp: OidcProvider) -> None:
    error = assert_error(sso_configure(pro, oidc_idp, default_role="owner"), 400)
    assert "default_role" in error["fields"]


def test_an_issuer_that_does_not_answer_is_400(pro: Org, oidc_idp: OidcProvider) -> None:
    response = sso_configure(pro, oidc_idp, issuer="http://127.0.0.1:9")
    error = assert_error(response, 400, "sso_issuer_invalid")
    assert "issuer" in error["fields"]
    assert not SsoConnection.objects.exists()


def test_an_issuer_whose_document_names_another_is_400(pro: Org, oidc_idp: OidcProvider) -> None:
    # The discovery document is served at .../x/.well-known/...? No: 404, also refused; and
    # with a trailing slash the document names the issuer without it.
    for issuer in (oidc_idp.issuer + "/", oidc_idp.issuer + "/x"):
        assert_error(sso_configure(pro, oidc_idp, issuer=issuer), 400, "sso_issuer_invalid")
    assert not SsoConnection.objects.exists()


def test_an_issuer_offering_no_accepted_algorithm_is_400(pro: Org, oidc_idp: OidcProvider) -> None:
    original = oidc_idp.discovery
    oidc_idp.discovery = lambda: {  # type: ignore[method-assign]
        **original(),
        "id_token_signing_alg_values_supported": ["HS256", "none"],
    }
    error = assert_error(sso_configure(pro, oidc_idp), 400, "sso_issuer_invalid")
    assert "algorithm" in error["message"]


def test_private_addresses_are_refused_outside_dev_and_test(
    pro: Org, oidc_idp: OidcProvider, settings: object
) -> None:
    settings.SSO_ALLOW_PRIVATE_NETWORKS = False  # type: ignore[attr-defined]
    error = assert_error(sso_configure(pro, oidc_idp), 400, "sso_issuer_invalid")
    assert "https" in error["message"]
    port = oidc_idp.issuer.rsplit(":", 1)[1]
    for issuer in (f"https://127.0.0.1:{port}", "https://10.0.0.1", "https://169.254.169.254"):
        error = assert_error(sso_configure(pro, oidc_idp, issuer=issuer), 400)
        assert "public internet" in error["message"]
    assert oidc_idp.token_requests == 0
    assert not SsoConnection.objects.exists()


def test_unknown_fields_are_400(pro: Org, oidc_idp: OidcProvider) -> None:
    assert_error(sso_configure(pro, oidc_idp, metadata_xml="<x/>"), 400)
