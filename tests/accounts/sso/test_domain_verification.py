"""Proving an SSO email domain (POST /api/v1/sso/domains/<domain>/verify/) with a DNS TXT record
or an HTTP token, against a real DNS server and a real HTTP server on loopback (the custom
domains' checks); what an unverified domain does (nothing: no sign-in, no just-in-time
provisioning, no enforced policy); and the squatting rule (several organizations may list a
domain nobody proved; the first to prove it wins it and the others' claims are removed)."""

import threading
from typing import Any

import pytest
from django.db import connection

from accounts.models import Membership, User
from accounts.sso.models import SsoDomain
from saas.audit.models import AuditEntry
from tests.factories import PASSWORD, Org, client_for, make_member, make_user
from tests.support.domains import DnsServer, Page, TokenServer
from tests.support.http import assert_error
from tests.support.oidc_idp import OidcProvider
from tests.support.sso import (
    callback_get,
    one_time_code,
    provider_round_trip,
    sso_configure,
    sso_domain_prove,
    sso_domain_shown,
    sso_domain_verify,
    sso_login,
)

DOMAIN = "acme.test"
CHALLENGE = f"_saas-challenge.{DOMAIN}"
HTTP_URL = f"http://{DOMAIN}/.well-known/saas-sso-domain-verification"


@pytest.fixture
def pro(acme: Org, oidc_idp: OidcProvider) -> Org:
    """acme on Pro, with single sign-on through `oidc_idp` for acme.test, not yet proven."""
    acme.on_plan("pro")
    assert sso_configure(acme, oidc_idp).status_code == 200
    return acme


def _entries(org: Org, action: str) -> list[AuditEntry]:
    with org.tenant:
        return list(AuditEntry.objects.filter(action=action).order_by("id"))


def _token(org: Org, domain: str = DOMAIN) -> str:
    return str(sso_domain_shown(org, domain)["verification"]["dns"]["value"])


def _stored(domain: str = DOMAIN) -> list[tuple[str, bool]]:
    """Every organization's claim of `domain`: (slug, verified)."""
    return sorted(
        (d.connection.tenant.slug, d.verified_at is not None)
        for d in SsoDomain.objects.filter(domain=domain).select_related("connection__tenant")
    )


def _password_login(org: Org, email: str) -> Any:
    return client_for(org.tenant).post(
        "/api/v1/auth/login/", {"email": email, "password": PASSWORD}, format="json"
    )


# ---- how to prove it, and proving it ------------------------------------------------------------


def test_the_connection_shows_how_to_prove_each_domain(pro: Org) -> None:
    shown = sso_domain_shown(pro, DOMAIN)
    token = SsoDomain.objects.get(domain=DOMAIN).token
    assert len(token) >= 32
    assert shown == {
        "domain": DOMAIN,
        "verified": False,
        "verified_at": None,
        "verified_by": None,
        "verification": {
            "dns": {"type": "TXT", "name": CHALLENGE, "value": token},
            "http": {"url": HTTP_URL, "body": token},
        },
        "verify_url": f"http://acme.localhost/api/v1/sso/domains/{DOMAIN}/verify/",
    }


def test_a_txt_record_verifies_once(pro: Org, dns_server: DnsServer) -> None:
    dns_server.records[(CHALLENGE, "TXT")] = ["an older value", _token(pro)]
    answer = sso_domain_verify(pro, DOMAIN)
    assert answer.status_code == 200, answer.content
    assert answer["Cache-Control"] == "no-store"
    body = answer.json()
    assert (body["domain"], body["verified"], body["verified_by"]) == (DOMAIN, True, "dns")
    assert body["verified_at"] is not None
    assert sso_domain_shown(pro, DOMAIN) == body
    assert (CHALLENGE, "TXT") in dns_server.queries

    (entry,) = _entries(pro, "sso.domain_verified")
    assert entry.actor_id == pro.user.pk
    assert entry.target_type == "sso_domain"
    assert entry.changes["verified_by"] == {"before": "", "after": "dns"}
    assert entry.changes["other_claims_removed"] == {"before": None, "after": 0}

    # Verified: answers as it is, without asking again, and nothing new is audited.
    asked = len(dns_server.queries)
    dns_server.records.clear()
    again = sso_domain_verify(pro, DOMAIN.upper() + ".")
    assert again.status_code == 200
    assert again.json() == body
    assert len(dns_server.queries) == asked
    assert len(_entries(pro, "sso.domain_verified")) == 1


def test_an_http_token_verifies(pro: Org, dns_server: DnsServer, token_server: TokenServer) -> None:
    dns_server.records[(DOMAIN, "A")] = ["127.0.0.1"]
    token_server.pages[DOMAIN] = Page(body=f"{_token(pro)}\n".encode())
    answer = sso_domain_verify(pro, DOMAIN)
    assert answer.status_code == 200, answer.content
    assert answer.json()["verified_by"] == "http"
    # Its own path, not the custom domains' one: a host can prove itself to both.
    assert token_server.requests == [(DOMAIN, "/.well-known/saas-sso-domain-verification")]


def test_failures_say_what_each_check_found_and_change_nothing(
    pro: Org, dns_server: DnsServer, token_server: TokenServer
) -> None:
    nothing = assert_error(sso_domain_verify(pro, DOMAIN), 409, "sso_domain_not_verified")
    assert nothing["checks"] == {
        "dns": f"No DNS record at {CHALLENGE}.",
        "http": f"{DOMAIN} has no A or AAAA record.",
    }
    assert "publish the TXT record" in nothing["message"]

    dns_server.records[(CHALLENGE, "TXT")] = ["stale-token"]
    dns_server.records[(DOMAIN, "A")] = ["127.0.0.1"]
    token_server.pages[DOMAIN] = Page(body=b"hello")
    wrong = assert_error(sso_domain_verify(pro, DOMAIN), 409, "sso_domain_not_verified")
    assert wrong["checks"] == {
        "dns": f"TXT records at {CHALLENGE} do not hold the token: 'stale-token'.",
        "http": f"{HTTP_URL} does not serve the token: 'hello'.",
    }

    token_server.pages[DOMAIN] = Page(status=302, headers={"Location": "http://elsewhere.test/"})
    moved = assert_error(sso_domain_verify(pro, DOMAIN), 409, "sso_domain_not_verified")
    assert moved["checks"]["http"] == f"{HTTP_URL} answered HTTP 302."

    assert _stored() == [("acme", False)]
    assert _entries(pro, "sso.domain_verified") == []


def test_an_unlisted_domain_or_no_connection_is_404(pro: Org, beta: Org) -> None:
    assert_error(sso_domain_verify(pro, "other.test"), 404, "sso_domain_not_found")
    assert_error(sso_domain_verify(beta.on_plan("pro"), "beta.test"), 404, "sso_not_configured")


@pytest.mark.parametrize("role", ["member", "viewer", "billing"])
def test_only_owners_and_admins_verify(pro: Org, dns_server: DnsServer, role: str) -> None:
    dns_server.records[(CHALLENGE, "TXT")] = [_token(pro)]
    assert_error(sso_domain_verify(pro.join(role), DOMAIN), 403)
    assert _stored() == [("acme", False)]
    assert sso_domain_verify(pro.join("admin"), DOMAIN).status_code == 200


def test_verifying_needs_the_sso_feature_and_cleaning_up_does_not(
    pro: Org, dns_server: DnsServer
) -> None:
    dns_server.records[(CHALLENGE, "TXT")] = [_token(pro)]
    pro.on_plan("starter")
    error = assert_error(sso_domain_verify(pro, DOMAIN), 402, "entitlement_exceeded")
    assert "sso" in error["message"]
    assert _stored() == [("acme", False)]
    assert dns_server.queries == []  # the plan first: no outside call
    assert pro.client.delete("/api/v1/sso/").status_code == 204
    assert _stored() == []


def test_beta_cannot_verify_acmes_domain(
    pro: Org, beta: Org, dns_server: DnsServer, other_idp: OidcProvider
) -> None:
    dns_server.records[(CHALLENGE, "TXT")] = [_token(pro)]
    beta.on_plan("pro")
    assert sso_configure(beta, other_idp).status_code == 200
    assert_error(sso_domain_verify(beta, DOMAIN), 404, "sso_domain_not_found")
    assert _stored() == [("acme", False)]
    assert _entries(beta, "sso.domain_verified") == []
    assert _entries(pro, "sso.domain_verified") == []


def test_replacing_the_connection_keeps_a_kept_domains_proof(
    pro: Org, dns_server: DnsServer, oidc_idp: OidcProvider
) -> None:
    proven = sso_domain_prove(pro, dns_server)
    client_id = pro.client.get("/api/v1/sso/").json()["client_id"]
    body = {"issuer": oidc_idp.issuer, "client_id": client_id, "domains": [DOMAIN, "acme.example"]}
    replaced = pro.client.put("/api/v1/sso/", body, format="json").json()["domains"]
    assert replaced[0] == proven
    assert replaced[1]["verified"] is False
    assert replaced[1]["verification"]["dns"]["value"] != proven["verification"]["dns"]["value"]
    # Dropped and listed again: a new claim, to prove again with a new token.
    pro.client.put("/api/v1/sso/", {**body, "domains": ["acme.example"]}, format="json")
    again = pro.client.put("/api/v1/sso/", body, format="json").json()["domains"]
    assert {d["domain"]: d["verified"] for d in again} == {DOMAIN: False, "acme.example": False}
    assert again[-1]["verification"]["dns"]["value"] != proven["verification"]["dns"]["value"]


# ---- what an unverified domain does: nothing --------------------------------------------------


def test_the_enforced_policy_applies_once_the_domain_is_verified(
    pro: Org, dns_server: DnsServer, oidc_idp: OidcProvider
) -> None:
    pro.user.email = "owner@acme.test"
    pro.user.save()
    al = make_member(pro.tenant, "admin", user=make_user(email="al@acme.test"))
    client_id = pro.client.get("/api/v1/sso/").json()["client_id"]
    body = {"issuer": oidc_idp.issuer, "client_id": client_id, "domains": [DOMAIN]}
    enforced = pro.client.put("/api/v1/sso/", {**body, "policy": "enforced"}, format="json")
    assert enforced.status_code == 200

    # Listed, enforced, not proven: nobody is locked out.
    assert _password_login(pro, al.email).status_code == 200
    sso_domain_prove(pro, dns_server)
    assert_error(_password_login(pro, al.email), 403, "sso_required")
    assert _password_login(pro, pro.user.email).status_code == 200  # the owner: break-glass


def test_only_a_verified_domain_signs_in_and_provisions(
    pro: Org, dns_server: DnsServer, oidc_idp: OidcProvider
) -> None:
    grace = make_member(pro.tenant, "member", user=make_user(email="grace@acme.test"))
    client = client_for(pro.tenant)
    # Asked with the email, the login says so at once.
    started = client.get("/api/v1/sso/login/", {"email": "ada@acme.test"})
    assert_error(started, 400, "sso_domain_unverified")
    # Without it, the provider's word about an unproven domain is refused at the callback:
    # neither a new person nor an existing member.
    for email in ("ada@acme.test", grace.email):
        callback = provider_round_trip(client.get("/api/v1/sso/login/"), oidc_idp, email)
        assert_error(callback_get(client, callback), 403, "sso_domain_unverified")
    assert not User.objects.filter(email="ada@acme.test").exists()
    assert Membership.objects.filter(tenant=pro.tenant).count() == 2

    sso_domain_prove(pro, dns_server)
    code = one_time_code(sso_login(client, oidc_idp, "ada@acme.test"))
    assert client.post("/api/v1/sso/token/", {"code": code}, format="json").status_code == 200
    assert Membership.objects.get(tenant=pro.tenant, user__email="ada@acme.test").role == "member"


# ---- squatting -----------------------------------------------------------------------------------


def test_an_unverified_claim_does_not_block_the_owner_of_the_domain(
    pro: Org, beta: Org, dns_server: DnsServer, other_idp: OidcProvider
) -> None:
    """beta lists acme.test first (and cannot prove it); acme may list it too, proves it,
    and beta's claim is removed, in both logs, without telling beta who proved it."""
    beta.on_plan("pro")
    assert sso_configure(beta, other_idp, domains=["beta.test", DOMAIN]).status_code == 200
    assert _stored() == [("acme", False), ("beta", False)]
    dns_server.records[(CHALLENGE, "TXT")] = [_token(pro)]
    assert_error(sso_domain_verify(beta, DOMAIN), 409, "sso_domain_not_verified")

    sso_domain_prove(pro, dns_server)
    assert _stored() == [("acme", True)]
    assert [d["domain"] for d in beta.client.get("/api/v1/sso/").json()["domains"]] == ["beta.test"]
    (removed,) = _entries(beta, "sso.domain_claim_removed")
    assert (removed.actor_kind, removed.actor_id, removed.actor_email) == ("system", None, "")
    assert removed.changes == {"domain": {"before": DOMAIN, "after": None}}
    assert removed.ip is None  # nothing of the request that proved it
    (verified,) = _entries(pro, "sso.domain_verified")
    assert verified.changes["other_claims_removed"] == {"before": None, "after": 1}
    assert _entries(pro, "sso.domain_claim_removed") == []

    # Proven, it is acme's only.
    again = sso_configure(beta, other_idp, domains=["beta.test", DOMAIN])
    assert_error(again, 409, "sso_domain_claimed")
    assert_error(sso_domain_verify(beta, DOMAIN), 404, "sso_domain_not_found")
    assert _stored() == [("acme", True)]


# ---- two at once ------------------------------------------------------------------------------


def _at_once(*calls: Any) -> list[Any]:
    """Each call in its own thread (its own database connection), released together."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_concurrent_verifications_verify_once(
    committed: None, make_org: Any, oidc_idp: OidcProvider, dns_server: DnsServer
) -> None:
    org = make_org("acme").on_plan("pro")
    assert sso_configure(org, oidc_idp).status_code == 200
    dns_server.records[(CHALLENGE, "TXT")] = [_token(org)]
    clients = [client_for(org.tenant, org.user) for _ in range(2)]
    answers = _at_once(
        *(lambda c=c: c.post(f"/api/v1/sso/domains/{DOMAIN}/verify/") for c in clients)
    )
    assert [a.status_code for a in answers] == [200, 200], [a.content for a in answers]
    assert answers[0].json() == answers[1].json()
    assert _stored() == [("acme", True)]
    assert len(_entries(org, "sso.domain_verified")) == 1


def test_two_organizations_proving_one_domain_at_once_one_wins(
    committed: None,
    make_org: Any,
    oidc_idp: OidcProvider,
    other_idp: OidcProvider,
    dns_server: DnsServer,
) -> None:
    """Both tokens published (a shared DNS zone): each passes the checks, one wins, the other
    is refused and its claim is gone; no deadlock, no 500."""
    acme, beta = make_org("acme").on_plan("pro"), make_org("beta").on_plan("pro")
    assert sso_configure(acme, oidc_idp, domains=[DOMAIN]).status_code == 200
    assert sso_configure(beta, other_idp, domains=[DOMAIN]).status_code == 200
    dns_server.records[(CHALLENGE, "TXT")] = [_token(acme), _token(beta)]
    orgs = [acme, beta]
    answers = _at_once(*(lambda o=o: sso_domain_verify(o, DOMAIN) for o in orgs))
    statuses = sorted(a.status_code for a in answers)
    assert statuses[0] == 200, [a.content for a in answers]
    assert statuses[1] in (404, 409), [a.content for a in answers]
    winner, loser = (orgs[0], orgs[1]) if answers[0].status_code == 200 else (orgs[1], orgs[0])
    assert _stored() == [(winner.tenant.slug, True)]
    refused = answers[orgs.index(loser)].json()["error"]["code"]
    assert refused in ("sso_domain_claimed", "sso_domain_not_found")
    assert len(_entries(winner, "sso.domain_verified")) == 1
    assert len(_entries(loser, "sso.domain_claim_removed")) == 1
    assert _entries(loser, "sso.domain_verified") == []
