"""Refresh tokens are not kept in clear: the outstanding-token table holds what revocation
needs (jti, user, expiry), never the JWT itself, whichever way the token was issued (login,
rotation, invitation accept), and revocation still works."""

import pytest
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import Role
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_no_refresh_jwt_is_stored(make_tenant, make_member, client_for) -> None:
    acme = make_tenant("acme")
    user = make_member(acme, Role.ADMIN, user=make_user(password=PASSWORD))
    client = client_for(acme)
    login = client.post(
        "/api/v1/auth/login/", {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert login.status_code == 200
    first = login.json()["refresh"]
    rotated = client.post("/api/v1/auth/token/refresh/", {"refresh": first}, format="json")
    assert rotated.status_code == 200
    second = rotated.json()["refresh"]

    rows = list(OutstandingToken.objects.filter(user=user))
    assert len(rows) == 2
    for row in rows:
        assert row.token == ""
        assert row.jti
        assert row.expires_at
    stored = " ".join(str(v) for v in OutstandingToken.objects.values_list())
    for jwt in (first, second):
        assert jwt not in stored
        assert jwt.split(".")[2] not in stored

    # Revocation works from the jti alone: the spent token is refused, the new one works.
    reused = client.post("/api/v1/auth/token/refresh/", {"refresh": first}, format="json")
    assert reused.status_code == 401
    again = client.post("/api/v1/auth/token/refresh/", {"refresh": second}, format="json")
    assert again.status_code == 200
