"""Signup is throttled per client IP and per email domain (429 + Retry-After), which is also
what bounds probing it for registered emails (409 email_taken, kept on purpose: README,
"Security"); a configured bot-defence verifier sees every signup before anything is made."""

import threading
from typing import Any

import pytest
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from accounts.models import Membership, User
from api.throttling import SignupDomainThrottle, SignupIpThrottle
from billing.models import BillingAccount
from saas.errors import InvalidInput
from tenants.challenge import check_signup_challenge_verifier
from tenants.models import Domain, Tenant
from tests.factories import SIGNUP, make_user
from tests.support.db import tenant_schemas
from tests.support.http import assert_error

VERIFIER_CALLS: list[Any] = []


def _signup(client, n: int, *, email: str | None = None, ip: str = "10.0.0.1", **change: Any):
    body = {**SIGNUP, "slug": f"org-{n}", "email": email or f"owner{n}@org{n}.test", **change}
    return client.post("/api/v1/signup/", body, format="json", REMOTE_ADDR=ip)


def test_the_default_rates_are_10_per_hour_per_ip_and_20_per_domain(settings) -> None:
    assert settings.THROTTLE_RATES["signup_ip"] == "10/hour"
    assert settings.THROTTLE_RATES["signup_domain"] == "20/hour"
    assert "gmail.com" in settings.THROTTLE_SIGNUP_DOMAIN_EXEMPT


def test_signup_is_throttled_per_ip_with_retry_after(db, tight_rates, client_for) -> None:
    tight_rates["signup_ip"] = "3/hour"
    client = client_for(None)
    codes = [_signup(client, n).status_code for n in range(3)]
    assert codes == [201, 201, 201]

    throttled = _signup(client, 3)
    assert_error(throttled, 429, "rate_limited")
    assert 0 < int(throttled["Retry-After"]) <= 3601
    assert not Tenant.objects.filter(slug="org-3").exists()
    assert "t_org_3" not in tenant_schemas()
    # Another client is not held back by the first one's count.
    assert _signup(client, 4, ip="10.0.0.2").status_code == 201


def test_signup_is_throttled_per_email_domain_across_ips(db, tight_rates, client_for) -> None:
    tight_rates["signup_domain"] = "2/hour"
    client = client_for(None)
    first = _signup(client, 0, email="a@bigcorp.test", ip="10.0.1.1")
    second = _signup(client, 1, email="b@BigCorp.TEST", ip="10.0.1.2")
    assert (first.status_code, second.status_code) == (201, 201)

    third = _signup(client, 2, email="c@bigcorp.test", ip="10.0.1.3")
    assert_error(third, 429, "rate_limited")
    assert int(third["Retry-After"]) > 0
    assert not User.objects.filter(email="c@bigcorp.test").exists()
    # Other domains keep their own budget.
    assert _signup(client, 3, email="c@smallco.test", ip="10.0.1.3").status_code == 201


def test_free_mail_domains_are_exempt_from_the_domain_throttle(db, tight_rates, client_for) -> None:
    tight_rates["signup_domain"] = "1/hour"
    client = client_for(None)
    codes = [
        _signup(client, n, email=f"founder{n}@Gmail.com", ip=f"10.0.2.{n}").status_code
        for n in range(3)
    ]
    assert codes == [201, 201, 201]


def test_a_refused_request_does_not_spend_the_other_throttles_budget(
    db, tight_rates, client_for
) -> None:
    """An IP over its rate cannot use up a company's domain budget for everyone else."""
    tight_rates["signup_ip"] = "1/hour"
    tight_rates["signup_domain"] = "2/hour"
    client = client_for(None)
    assert _signup(client, 0, email="a@bigcorp.test").status_code == 201
    for n in range(1, 5):
        assert _signup(client, n, email=f"x{n}@bigcorp.test").status_code == 429
    assert _signup(client, 5, email="b@bigcorp.test", ip="10.0.3.9").status_code == 201


def test_a_concurrent_burst_passes_no_more_than_the_rate(db, tight_rates) -> None:
    """The count is one atomic step in Redis: parallel requests cannot all read 'under'."""
    tight_rates["signup_ip"] = "5/hour"
    tight_rates["signup_domain"] = "7/hour"
    factory = APIRequestFactory()
    barrier = threading.Barrier(20)
    allowed: dict[str, list[bool]] = {"ip": [], "domain": []}

    def attempt(n: int) -> None:
        body = {"email": f"u{n}@burst.test"}
        raw = factory.post("/api/v1/signup/", body, format="json", REMOTE_ADDR="10.9.9.9")
        request = Request(raw, parsers=[JSONParser()])
        barrier.wait()
        allowed["ip"].append(SignupIpThrottle().allow_request(request, None))
        allowed["domain"].append(SignupDomainThrottle().allow_request(request, None))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert allowed["ip"].count(True) == 5
    assert allowed["domain"].count(True) == 7


def test_probing_for_registered_emails_is_cut_off_by_the_throttles(
    db, client_for, make_tenant, make_member
) -> None:
    """Signup answers 409 email_taken for a registered address (kept: README, "Security").
    Probing with a taken slug makes nothing, so the throttles are what bound it: with the
    default rates one client gets 10 answers, and all clients together 20 per company domain
    and hour; past that, a registered address and an unknown one get the same 429."""
    acme = make_tenant("acme")
    make_member(acme, user=make_user(email="jane@bigcorp.test"))
    client = client_for(None)

    def probe(local: str, ip: str):
        body = {**SIGNUP, "slug": "acme", "email": f"{local}@bigcorp.test"}
        return client.post("/api/v1/signup/", body, format="json", REMOTE_ADDR=ip)

    one_client = [probe("jane" if n == 5 else f"guess{n}", "10.1.0.1") for n in range(11)]
    assert [r.status_code for r in one_client] == [409] * 10 + [429]
    assert one_client[5].json()["error"]["code"] == "email_taken"

    # Many clients (one probe each) share the domain's budget: 10 left of 20.
    many_clients = [probe(f"more{n}", f"10.2.0.{n}") for n in range(12)]
    assert [r.status_code for r in many_clients] == [409] * 10 + [429] * 2

    taken, unknown = probe("jane", "10.3.0.1"), probe("nobody", "10.3.0.2")
    for response in (taken, unknown):
        assert_error(response, 429, "rate_limited")
    assert taken.json()["error"]["message"] == unknown.json()["error"]["message"]
    assert Tenant.objects.count() == 1
    assert User.objects.filter(email__endswith="@bigcorp.test").count() == 1


# ---- the bot-defence hook (SIGNUP_CHALLENGE_VERIFIER) -----------------------------------


def _token(request: Request) -> object:
    return request.data.get("challenge") if isinstance(request.data, dict) else None


def accept_token(request: Request) -> bool:
    VERIFIER_CALLS.append(request)
    return _token(request) == "good-token"


def require_token(request: Request) -> bool:
    VERIFIER_CALLS.append(request)
    if not _token(request):
        raise InvalidInput(
            "Solve the challenge first.",
            code="challenge_failed",
            extra={"fields": {"challenge": ["Required."]}},
        )
    return False


def forgets_to_answer(request: Request) -> None:
    VERIFIER_CALLS.append(request)


@pytest.fixture
def verifier(settings) -> Any:
    VERIFIER_CALLS.clear()

    def use(name: str) -> None:
        settings.SIGNUP_CHALLENGE_VERIFIER = f"{__name__}.{name}"

    yield use
    VERIFIER_CALLS.clear()


def assert_nothing_made() -> None:
    assert Tenant.objects.count() == 0
    assert Domain.objects.count() == 0
    assert Membership.objects.count() == 0
    assert User.objects.count() == 0
    assert BillingAccount.objects.count() == 0
    assert tenant_schemas() == set()


def test_no_verifier_by_default(settings, db, client_for) -> None:
    assert settings.SIGNUP_CHALLENGE_VERIFIER == ""
    assert client_for(None).post("/api/v1/signup/", SIGNUP, format="json").status_code == 201


def test_a_configured_verifier_sees_the_request_and_its_yes_lets_signup_through(
    db, verifier, client_for
) -> None:
    verifier("accept_token")
    body = {**SIGNUP, "challenge": "good-token"}
    response = client_for(None).post("/api/v1/signup/", body, format="json")
    assert response.status_code == 201, response.json()
    assert len(VERIFIER_CALLS) == 1
    assert VERIFIER_CALLS[0].data["email"] == SIGNUP["email"]
    assert "challenge" not in response.json()


def test_a_verifier_refusal_is_403_challenge_failed_and_makes_nothing(
    db, verifier, client_for
) -> None:
    verifier("accept_token")
    body = {**SIGNUP, "challenge": "forged"}
    response = client_for(None).post("/api/v1/signup/", body, format="json")
    assert_error(response, 403, "challenge_failed")
    assert len(VERIFIER_CALLS) == 1
    assert_nothing_made()


def test_a_verifier_may_refuse_with_its_own_400(db, verifier, client_for) -> None:
    verifier("require_token")
    response = client_for(None).post("/api/v1/signup/", SIGNUP, format="json")
    error = assert_error(response, 400, "challenge_failed")
    assert error["fields"] == {"challenge": ["Required."]}
    assert_nothing_made()


def test_a_verifier_that_answers_nothing_refuses(db, verifier, client_for) -> None:
    """Only an explicit True lets a signup through: a verifier bug fails closed."""
    verifier("forgets_to_answer")
    response = client_for(None).post("/api/v1/signup/", SIGNUP, format="json")
    assert_error(response, 403, "challenge_failed")
    assert_nothing_made()


def test_the_verifier_runs_before_taken_emails_or_slugs_are_revealed(
    db, verifier, client_for, make_tenant, make_member
) -> None:
    acme = make_tenant("acme")
    make_member(acme, user=make_user(email="owner@acme.test"))
    verifier("accept_token")
    response = client_for(None).post("/api/v1/signup/", SIGNUP, format="json")
    assert_error(response, 403, "challenge_failed")


def test_a_verifier_path_that_does_not_import_is_a_system_check_error(settings) -> None:
    settings.SIGNUP_CHALLENGE_VERIFIER = "tests.tenants.no_such_module.verify"
    assert [error.id for error in check_signup_challenge_verifier()] == ["tenants.E001"]
    settings.SIGNUP_CHALLENGE_VERIFIER = f"{__name__}.accept_token"
    assert check_signup_challenge_verifier() == []
