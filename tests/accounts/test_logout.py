"""Logout revokes a refresh token of the caller, issued for this organization, and nothing
else: posting somebody else's token (or one of another organization) to logout must not end
that session."""

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import UntypedToken

from tests.factories import PASSWORD, make_user

LOGIN = "/api/v1/auth/login/"
LOGOUT = "/api/v1/auth/logout/"
REFRESH = "/api/v1/auth/token/refresh/"


def _pair(client, user) -> dict:
    response = client.post(LOGIN, {"email": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.json()
    return dict(response.json())


def _revoked(refresh: str) -> bool:
    jti = UntypedToken(refresh)["jti"]  # type: ignore[arg-type]  # simplejwt's hint: str works
    return BlacklistedToken.objects.filter(token__jti=jti).exists()


@pytest.fixture
def sessions(db, client_for, make_tenant, make_member):
    """Two organizations; ada in acme, bob and cy in beta, and dee in both: a pair for each
    person on each host they belong to."""
    acme, beta = make_tenant("acme"), make_tenant("beta")
    ada, bob, cy, dee = make_user(), make_user(), make_user(), make_user()
    make_member(acme, user=ada)
    make_member(beta, user=bob)
    make_member(beta, user=cy)
    make_member(acme, user=dee)
    make_member(beta, user=dee)
    hosts = {"acme": acme, "beta": beta}
    pairs = {
        ("ada", "acme"): _pair(client_for(acme), ada),
        ("bob", "beta"): _pair(client_for(beta), bob),
        ("cy", "beta"): _pair(client_for(beta), cy),
        ("dee", "acme"): _pair(client_for(acme), dee),
        ("dee", "beta"): _pair(client_for(beta), dee),
    }
    return hosts, pairs


def _logout(client_for, hosts, pairs, *, caller: tuple[str, str], refresh: str):
    client = client_for(hosts[caller[1]])
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pairs[caller]['access']}")
    return client.post(LOGOUT, {"refresh": refresh}, format="json")


@pytest.mark.parametrize(
    ("caller", "victim"),
    [
        # B's member posts A's member's refresh token to B's logout: the case.
        (("bob", "beta"), ("ada", "acme")),
        # The same person, but the token is of the other organization.
        (("dee", "beta"), ("dee", "acme")),
        # Another member of the same organization.
        (("cy", "beta"), ("bob", "beta")),
        # Another user's token of the caller's own organization, caller in two tenants.
        (("dee", "acme"), ("ada", "acme")),
    ],
    ids=[
        "other-user-other-tenant",
        "same-user-other-tenant",
        "other-user-same-tenant",
        "other-user-caller-in-two-tenants",
    ],
)
def test_logout_refuses_a_refresh_token_that_is_not_the_callers_on_this_tenant(
    sessions, client_for, caller, victim
):
    hosts, pairs = sessions
    victims_refresh = pairs[victim]["refresh"]

    response = _logout(client_for, hosts, pairs, caller=caller, refresh=victims_refresh)

    assert response.status_code == 401, response.json()
    assert response.json()["error"]["code"] == "token_invalid"
    assert not _revoked(victims_refresh)
    assert not _revoked(pairs[caller]["refresh"])
    # The victim's session goes on: their refresh token still rotates.
    still = client_for(hosts[victim[1]]).post(REFRESH, {"refresh": victims_refresh}, format="json")
    assert still.status_code == 200, still.json()


def test_a_foreign_token_gets_the_same_answer_as_a_malformed_one(sessions, client_for):
    hosts, pairs = sessions
    caller = ("bob", "beta")
    foreign = _logout(
        client_for, hosts, pairs, caller=caller, refresh=pairs[("ada", "acme")]["refresh"]
    )
    garbage = _logout(client_for, hosts, pairs, caller=caller, refresh="not-a-token")

    def shape(response) -> tuple:
        error = response.json()["error"]
        return response.status_code, error["code"], error["message"]

    assert shape(foreign) == shape(garbage)


def test_logout_revokes_the_callers_own_token_of_this_tenant_only(sessions, client_for):
    hosts, pairs = sessions

    response = _logout(
        client_for, hosts, pairs, caller=("dee", "beta"), refresh=pairs[("dee", "beta")]["refresh"]
    )

    assert response.status_code == 200, response.json()
    assert _revoked(pairs[("dee", "beta")]["refresh"])
    assert not _revoked(pairs[("dee", "acme")]["refresh"])  # dee's other session stays
    assert not _revoked(pairs[("bob", "beta")]["refresh"])
