"""What Schemathesis found, pinned down as plain tests."""

from accounts.models import Role


def test_profile_update_refuses_a_number_for_a_name(db, make_tenant, make_member, client_for):
    acme = make_tenant("acme")
    user = make_member(acme)
    response = client_for(acme, user).patch("/api/v1/auth/user/", {"full_name": 0}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"full_name": ["Must be a string."]}


def test_member_list_refuses_an_unknown_role_filter(db, make_tenant, make_member, client_for):
    acme = make_tenant("acme")
    client = client_for(acme, make_member(acme, Role.ADMIN))
    response = client.get("/api/v1/members/", {"role": "AAA"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"role"}
    assert client.get("/api/v1/members/", {"role": "admin"}).status_code == 200


def test_logout_with_a_bad_refresh_token_answers_in_the_one_error_format(
    db, make_tenant, make_member, client_for
):
    acme = make_tenant("acme")
    response = client_for(acme, make_member(acme)).post(
        "/api/v1/auth/logout/", {"refresh": "00"}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_invalid"
