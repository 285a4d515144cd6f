"""Custom domains (tenants.domains): added by an organization's owners and admins on plans
that include them, verified by a DNS TXT record or an HTTP token against real servers on
loopback, routed like the primary domain once verified and not before, and no longer from the
request after their removal; the TLS front's ask endpoint allows exactly the served hosts."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from saas.audit.models import AuditEntry
from tenants.domains.models import CustomDomain
from tenants.models import Domain
from tenants.operations import tenant_suspend
from tests.factories import Org, client_for
from tests.support.domains import DnsServer, Page, TokenServer
from tests.support.http import access_token, assert_error

HOST = "app.customer.test"
CHALLENGE = f"_saas-challenge.{HOST}"


@pytest.fixture
def pro(acme: Org) -> Org:
    return acme.on_plan("pro")


def _add(org: Org, hostname: str = HOST) -> dict[str, Any]:
    return org.ok("post", "domains/", {"hostname": hostname})


def _verify(org: Org, domain_id: int, capture: Any) -> Any:
    """POST verify/, running what the commit would run (the host map's invalidation)."""
    with capture(execute=True):
        return org.client.post(f"/api/v1/domains/{domain_id}/verify/")


def _actions(org: Org) -> list[str]:
    with org.tenant:
        return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))


def _on(host: str, org: Org | None = None) -> APIClient:
    """A client on `host` with `org`'s owner token."""
    client = APIClient(HTTP_HOST=host)
    if org is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(org.tenant, org.user)}")
    return client


# ---- adding -----------------------------------------------------------------------------------


def test_add_normalizes_and_shows_how_to_verify(pro: Org) -> None:
    domain = _add(pro, "  App.Customer.TEST.  ")
    assert domain["hostname"] == HOST
    assert domain["status"] == "pending"
    assert domain["verified_by"] is None
    assert domain["verified_at"] is None
    token = CustomDomain.objects.get(pk=domain["id"]).token
    assert domain["verification"] == {
        "dns": {"type": "TXT", "name": CHALLENGE, "value": token},
        "http": {"url": f"http://{HOST}/.well-known/saas-domain-verification", "body": token},
    }
    assert pro.ok("get", f"domains/{domain['id']}/") == domain
    assert pro.ok("get", "domains/")["results"] == [domain]
    # Pending: nothing routes yet.
    assert not Domain.objects.filter(domain=HOST).exists()
    assert _actions(pro)[-1] == "domain.added"


def test_add_answers_with_the_location_of_the_domain(pro: Org) -> None:
    response = pro.client.post("/api/v1/domains/", {"hostname": HOST}, format="json")
    assert response.status_code == 201
    assert response["Location"] == f"http://acme.localhost/api/v1/domains/{response.json()['id']}/"


def test_internationalized_names_are_stored_in_idna_form(pro: Org) -> None:
    assert _add(pro, "Bücher.Customer.test")["hostname"] == "xn--bcher-kva.customer.test"


@pytest.mark.parametrize(
    ("hostname", "code"),
    [
        ("", None),  # the serializer's "may not be blank"
        ("   ", None),
        ("203.0.113.7", "invalid_hostname"),
        ("[2001:db8::1]", "invalid_hostname"),
        ("2001:db8::1", "invalid_hostname"),
        ("intranet", "invalid_hostname"),
        ("app.customer.test:8443", "invalid_hostname"),
        ("https://app.customer.test/", "invalid_hostname"),
        ("a..customer.test", "invalid_hostname"),
        ("-bad.customer.test", "invalid_hostname"),
        ("under_score.customer.test", "invalid_hostname"),
        ("x" * 64 + ".customer.test", "invalid_hostname"),
        ("app.customer.123", "invalid_hostname"),
        ("localhost", "invalid_hostname"),  # a single label
        ("app.localhost", "hostname_reserved"),
        # BASE_DOMAIN is localhost in tests: the public host and every organization's host.
        ("beta.localhost", "hostname_reserved"),
        ("ACME.localhost.", "hostname_reserved"),
    ],
)
def test_bad_names_are_refused_and_nothing_is_made(
    pro: Org, hostname: str, code: str | None
) -> None:
    response = pro.client.post("/api/v1/domains/", {"hostname": hostname}, format="json")
    error = assert_error(response, 400, code)
    assert "hostname" in error["fields"]
    assert not CustomDomain.objects.exists()
    assert "domain.added" not in _actions(pro)


def test_unknown_fields_are_refused(pro: Org) -> None:
    response = pro.client.post(
        "/api/v1/domains/", {"hostname": HOST, "status": "verified"}, format="json"
    )
    assert_error(response, 400)
    assert not CustomDomain.objects.exists()


def test_a_name_another_organization_added_is_taken_without_naming_it(pro: Org, beta: Org) -> None:
    _add(beta.on_plan("pro"))
    response = pro.client.post("/api/v1/domains/", {"hostname": "APP.customer.test"}, format="json")
    error = assert_error(response, 409, "domain_taken")
    assert "beta" not in response.content.decode().lower()
    assert error["fields"] == {"hostname": ["This domain is taken."]}
    assert CustomDomain.objects.get().tenant_id == beta.tenant.pk


def test_the_same_name_twice_in_one_organization_is_a_conflict(pro: Org) -> None:
    _add(pro)
    response = pro.client.post("/api/v1/domains/", {"hostname": HOST}, format="json")
    assert_error(response, 409, "domain_exists")
    assert CustomDomain.objects.count() == 1


def test_a_name_that_routes_already_is_taken(pro: Org, beta: Org) -> None:
    Domain.objects.create(domain=HOST, tenant=beta.tenant, is_primary=False)  # an operator's
    response = pro.client.post("/api/v1/domains/", {"hostname": HOST}, format="json")
    assert_error(response, 409, "domain_taken")


def test_plans_without_the_feature_are_refused_with_402(acme: Org) -> None:
    response = acme.on_plan("starter").client.post(
        "/api/v1/domains/", {"hostname": HOST}, format="json"
    )
    error = assert_error(response, 402, "entitlement_exceeded")
    assert error["entitlement"] == "feature:custom_domains"
    assert not CustomDomain.objects.exists()


def test_the_number_of_domains_is_bounded(pro: Org, settings: Any) -> None:
    settings.CUSTOM_DOMAINS_PER_TENANT = 2
    _add(pro, "one.customer.test")
    _add(pro, "two.customer.test")
    response = pro.client.post("/api/v1/domains/", {"hostname": HOST}, format="json")
    assert_error(response, 409, "domain_limit_reached")


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER, Role.BILLING])
def test_only_owners_and_admins_manage_domains(pro: Org, role: str) -> None:
    domain = _add(pro)
    other = pro.join(role)
    assert_error(other.client.get("/api/v1/domains/"), 403)
    assert_error(other.client.post("/api/v1/domains/", {"hostname": "b.customer.test"}), 403)
    assert_error(other.client.post(f"/api/v1/domains/{domain['id']}/verify/"), 403)
    assert_error(other.client.delete(f"/api/v1/domains/{domain['id']}/"), 403)
    admin = pro.join(Role.ADMIN)
    assert admin.ok("get", "domains/")["count"] == 1


def test_another_organizations_domain_is_not_found(pro: Org, beta: Org) -> None:
    theirs = _add(beta.on_plan("pro"), "their.customer.test")["id"]
    for method, path in [
        ("get", f"/api/v1/domains/{theirs}/"),
        ("post", f"/api/v1/domains/{theirs}/verify/"),
        ("delete", f"/api/v1/domains/{theirs}/"),
    ]:
        assert_error(getattr(pro.client, method)(path), 404, "domain_not_found")
    assert pro.ok("get", "domains/")["results"] == []
    assert CustomDomain.objects.filter(pk=theirs).exists()


# ---- verifying ----------------------------------------------------------------------------------


def test_a_txt_record_verifies_and_the_domain_routes(
    pro: Org, beta: Org, dns_server: DnsServer, django_capture_on_commit_callbacks: Any
) -> None:
    domain = _add(pro)
    dns_server.records[(CHALLENGE, "TXT")] = [domain["verification"]["dns"]["value"]]
    response = _verify(pro, domain["id"], django_capture_on_commit_callbacks)
    assert response.status_code == 200, response.content
    verified = response.json()
    assert verified["status"] == "verified"
    assert verified["verified_by"] == "dns"
    assert verified["verified_at"] is not None
    routed = Domain.objects.get(domain=HOST)
    assert (routed.tenant_id, routed.is_primary) == (pro.tenant.pk, False)
    assert (CHALLENGE, "TXT") in dns_server.queries
    assert _actions(pro)[-2:] == ["domain.added", "domain.verified"]
    with beta.tenant:
        assert not AuditEntry.objects.filter(action__startswith="domain.").exists()
    # Verifying again answers as it is, without asking DNS.
    asked = len(dns_server.queries)
    assert pro.ok("post", f"domains/{domain['id']}/verify/")["status"] == "verified"
    assert len(dns_server.queries) == asked


def test_an_http_token_verifies(
    pro: Org, token_server: TokenServer, dns_server: DnsServer, django_capture_on_commit_callbacks
) -> None:
    domain = _add(pro)
    dns_server.records[(HOST, "A")] = ["127.0.0.1"]
    token_server.pages[HOST] = Page(body=domain["verification"]["http"]["body"].encode() + b"\n")
    response = _verify(pro, domain["id"], django_capture_on_commit_callbacks)
    assert response.status_code == 200, response.content
    assert response.json()["verified_by"] == "http"
    assert token_server.requests == [(HOST, "/.well-known/saas-domain-verification")]
    assert Domain.objects.filter(domain=HOST, tenant=pro.tenant).exists()


def test_nothing_published_is_a_409_saying_what_was_found(
    pro: Org, token_server: TokenServer, dns_server: DnsServer
) -> None:
    domain = _add(pro)
    dns_server.records[(CHALLENGE, "TXT")] = ["someone-elses-token"]
    dns_server.records[(HOST, "A")] = ["127.0.0.1"]
    token_server.pages[HOST] = Page(body=b"wrong")
    response = pro.client.post(f"/api/v1/domains/{domain['id']}/verify/")
    error = assert_error(response, 409, "domain_not_verified")
    assert "someone-elses-token" in error["checks"]["dns"]
    assert "does not serve the token" in error["checks"]["http"]
    assert CustomDomain.objects.get(pk=domain["id"]).status == "pending"
    assert not Domain.objects.filter(domain=HOST).exists()
    assert "domain.verified" not in _actions(pro)


def test_no_record_at_all(pro: Org, dns_server: DnsServer) -> None:
    domain = _add(pro)
    error = assert_error(pro.client.post(f"/api/v1/domains/{domain['id']}/verify/"), 409)
    assert error["checks"]["dns"] == f"No DNS record at {CHALLENGE}."
    assert error["checks"]["http"] == f"{HOST} has no A or AAAA record."


def test_redirects_are_not_followed(
    pro: Org, token_server: TokenServer, dns_server: DnsServer
) -> None:
    domain = _add(pro)
    dns_server.records[(HOST, "A")] = ["127.0.0.1"]
    token = domain["verification"]["http"]["body"].encode()
    token_server.pages[HOST] = Page(status=302, headers={"Location": "http://elsewhere.test/t"})
    token_server.pages["elsewhere.test"] = Page(body=token)
    error = assert_error(pro.client.post(f"/api/v1/domains/{domain['id']}/verify/"), 409)
    assert "answered HTTP 302" in error["checks"]["http"]
    assert [host for host, _ in token_server.requests] == [HOST]


def test_an_oversized_answer_is_not_read(
    pro: Org, token_server: TokenServer, dns_server: DnsServer
) -> None:
    domain = _add(pro)
    dns_server.records[(HOST, "A")] = ["127.0.0.1"]
    token = domain["verification"]["http"]["body"].encode()
    token_server.pages[HOST] = Page(body=token + b" " * 5000)
    error = assert_error(pro.client.post(f"/api/v1/domains/{domain['id']}/verify/"), 409)
    assert "more than 1024 bytes" in error["checks"]["http"]


def test_private_addresses_are_never_fetched_outside_dev_and_test(
    pro: Org, token_server: TokenServer, dns_server: DnsServer, settings: Any
) -> None:
    settings.CUSTOM_DOMAINS_ALLOW_PRIVATE_ADDRESSES = False  # as in production
    domain = _add(pro)
    dns_server.records[(HOST, "A")] = ["127.0.0.1"]
    dns_server.records[(HOST, "AAAA")] = ["::1"]
    token_server.pages[HOST] = Page(body=domain["verification"]["http"]["body"].encode())
    error = assert_error(pro.client.post(f"/api/v1/domains/{domain['id']}/verify/"), 409)
    assert error["checks"]["http"] == f"{HOST} resolves only to non-public addresses."
    assert token_server.requests == []


def test_verify_needs_the_plan_too(pro: Org, dns_server: DnsServer) -> None:
    domain = _add(pro)
    dns_server.records[(CHALLENGE, "TXT")] = [domain["verification"]["dns"]["value"]]
    pro.on_plan("starter")
    response = pro.client.post(f"/api/v1/domains/{domain['id']}/verify/")
    assert_error(response, 402, "entitlement_exceeded")
    assert not Domain.objects.filter(domain=HOST).exists()


# ---- routing ------------------------------------------------------------------------------------


def test_only_a_verified_domain_routes_and_removal_stops_it(
    pro: Org, beta: Org, dns_server: DnsServer, django_capture_on_commit_callbacks: Any
) -> None:
    unknown = assert_error(_on("nobody.customer.test", pro).get("/api/v1/projects/"), 400)
    # Pending: refused exactly like any unknown host.
    domain = _add(pro)
    assert assert_error(_on(HOST, pro).get("/api/v1/projects/"), 400)["code"] == unknown["code"]

    dns_server.records[(CHALLENGE, "TXT")] = [domain["verification"]["dns"]["value"]]
    assert _verify(pro, domain["id"], django_capture_on_commit_callbacks).status_code == 200
    pro.project(name="Rocket")
    answer = _on(HOST, pro).get("/api/v1/projects/")
    assert answer.status_code == 200, answer.content
    assert [p["name"] for p in answer.json()["results"]] == ["Rocket"]
    # The token is bound to acme: beta's owner is refused on acme's custom domain.
    assert_error(_on(HOST, beta).get("/api/v1/projects/"), 401)
    assert _on(HOST).get("/api/v1/projects/").status_code == 401
    # beta's own host is untouched.
    assert beta.client.get("/api/v1/projects/").json()["results"] == []

    with django_capture_on_commit_callbacks(execute=True):
        assert pro.client.delete(f"/api/v1/domains/{domain['id']}/").status_code == 204
    assert assert_error(_on(HOST, pro).get("/api/v1/projects/"), 400)["code"] == unknown["code"]
    assert not Domain.objects.filter(domain=HOST).exists()
    assert not CustomDomain.objects.exists()
    assert _actions(pro)[-1] == "domain.removed"
    assert pro.client.get("/api/v1/projects/").status_code == 200
    assert beta.client.get("/api/v1/projects/").status_code == 200


def test_removing_a_pending_domain_frees_the_name(pro: Org, beta: Org) -> None:
    domain = _add(pro)
    pro.ok("delete", f"domains/{domain['id']}/")
    assert _add(beta.on_plan("pro"))["hostname"] == HOST
    assert _actions(pro)[-1] == "domain.removed"


def test_removal_is_allowed_after_a_downgrade(pro: Org) -> None:
    domain = _add(pro)
    pro.on_plan("starter")
    pro.ok("delete", f"domains/{domain['id']}/")
    assert not CustomDomain.objects.exists()


# ---- the TLS front's ask ------------------------------------------------------------------------


def _ask(domain: str | None) -> Any:
    query = {} if domain is None else {"domain": domain}
    return client_for(None).get("/api/v1/tls/ask/", query)


def test_ask_allows_only_served_hosts(
    pro: Org, dns_server: DnsServer, django_capture_on_commit_callbacks: Any
) -> None:
    domain = _add(pro)
    assert_error(_ask(HOST), 404, "domain_not_served")  # pending
    dns_server.records[(CHALLENGE, "TXT")] = [domain["verification"]["dns"]["value"]]
    _verify(pro, domain["id"], django_capture_on_commit_callbacks)

    allowed = _ask("APP.customer.test.")
    assert allowed.status_code == 200
    assert allowed.json() == {"domain": HOST}
    assert _ask("acme.localhost").status_code == 200  # an organization's own host
    for refused in ("nobody.customer.test", "nobody.localhost", "203.0.113.7", "not a name"):
        assert_error(_ask(refused), 404, "domain_not_served")
    assert_error(_ask(None), 400)

    with django_capture_on_commit_callbacks(execute=True):
        pro.ok("delete", f"domains/{domain['id']}/")
    assert_error(_ask(HOST), 404, "domain_not_served")


def test_ask_refuses_a_suspended_organizations_hosts(
    pro: Org, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        tenant_suspend(tenant=pro.tenant)
    assert_error(_ask("acme.localhost"), 404, "domain_not_served")


def test_ask_is_not_served_on_tenant_hosts(pro: Org) -> None:
    assert_error(pro.client.get("/api/v1/tls/ask/", {"domain": "acme.localhost"}), 404)


def test_ask_answers_over_plain_http_where_everything_else_redirects(
    pro: Org, settings: Any
) -> None:
    """The TLS front asks before it has any certificate: the HTTPS redirect spares the ask."""
    settings.SECURE_SSL_REDIRECT = True
    assert _ask("acme.localhost").status_code == 200
    assert client_for(None).get("/api/v1/plans/").status_code == 301


def test_ask_reads_the_host_map_not_the_database(pro: Org, django_assert_num_queries) -> None:
    """Cheap for a busy TLS front: a host seen once in this generation costs no query."""
    assert _ask("acme.localhost").status_code == 200
    assert _ask("nobody.customer.test").status_code == 404
    with django_assert_num_queries(0):
        assert _ask("acme.localhost").status_code == 200
        assert _ask("nobody.customer.test").status_code == 404


def test_a_custom_host_with_a_port_is_the_host_the_answers_name(
    pro: Org, dns_server: DnsServer, django_capture_on_commit_callbacks: Any
) -> None:
    """Admitted outside ALLOWED_HOSTS, the custom host is the request's host for everything
    after routing too (links in answers), port included."""
    domain = _add(pro)
    dns_server.records[(CHALLENGE, "TXT")] = [domain["verification"]["dns"]["value"]]
    _verify(pro, domain["id"], django_capture_on_commit_callbacks)
    created = _on(f"{HOST}:8443", pro).post(
        "/api/v1/domains/", {"hostname": "b.customer.test"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created["Location"].startswith(f"http://{HOST}:8443/api/v1/domains/")


def test_unreachable_servers_are_reported_not_raised(
    pro: Org, dns_server: DnsServer, settings: Any
) -> None:
    """A DNS server that does not answer and an HTTP server that refuses: a 409 naming both."""
    domain = _add(pro)
    dns_server.records[(HOST, "A")] = ["127.0.0.1"]
    closed = TokenServer()
    settings.CUSTOM_DOMAINS_HTTP_PORT = closed.port
    closed.stop()  # nothing listens there any more
    error = assert_error(pro.client.post(f"/api/v1/domains/{domain['id']}/verify/"), 409)
    assert (
        error["checks"]["http"]
        == f"Could not fetch http://{HOST}/.well-known/saas-domain-verification."
    )
    settings.CUSTOM_DOMAINS_DNS_PORT = closed.port  # no DNS server there either
    error = assert_error(pro.client.post(f"/api/v1/domains/{domain['id']}/verify/"), 409)
    assert error["checks"]["dns"] == f"The DNS lookup of {CHALLENGE} failed or timed out."
    assert CustomDomain.objects.get(pk=domain["id"]).status == "pending"
