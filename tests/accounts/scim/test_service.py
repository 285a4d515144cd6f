"""The SCIM service as a whole: who may call it (a SCIM token of this organization, on a
plan with scim, nothing else), its media type and error shape, and its discovery documents."""

import pytest

from accounts.models import Role
from billing.models import Plan
from tests.factories import client_for
from tests.support.http import access_token
from tests.support.oauth import client_credentials_token
from tests.support.scim import (
    SCIM_JSON,
    USER_SCHEMA,
    ScimClient,
    assert_scim_error,
    scim_client,
    scim_token,
    user_body,
)

ENDPOINTS = ["Users", "Groups", "ServiceProviderConfig", "ResourceTypes", "Schemas"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_without_a_scim_token_nothing_answers(acme, path) -> None:
    acme.on_plan("pro")
    response = ScimClient(acme, None).get(path)
    assert_scim_error(response, 401)
    assert response["WWW-Authenticate"] == 'Bearer realm="scim"'
    for token in ("scim_not-a-real-one", "x" * 300, access_token(acme.tenant, acme.user)):
        assert_scim_error(ScimClient(acme, token).get(path), 401)


def test_an_oauth2_token_is_no_scim_credential(acme, register_app) -> None:
    acme.on_plan("pro")
    app = register_app(acme.tenant, acme.user, scopes=("read", "admin"))
    token = client_credentials_token(app, scope="admin")["access_token"]
    assert (
        acme.client.get("/api/v1/members/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    )
    assert_scim_error(ScimClient(acme, token).get("Users"), 401)


def test_a_token_works_on_its_own_organizations_host_only(acme, beta) -> None:
    acme.on_plan("pro")
    beta.on_plan("pro")
    theirs = scim_token(beta)
    assert_scim_error(ScimClient(acme, theirs).get("Users"), 401)
    assert_scim_error(ScimClient(acme, theirs).call("POST", "Users", user_body("x@y.test")), 401)
    assert ScimClient(beta, theirs).get("Users").status_code == 200


def test_a_plan_without_scim_stops_provisioning_at_once(acme) -> None:
    acme.on_plan("pro")
    idp = scim_client(acme)
    assert idp.get("Users").status_code == 200
    acme.on_plan("starter")
    response = idp.call("POST", "Users", user_body("ada@example.test"))
    body = assert_scim_error(response, 403)
    assert "scim" in body["detail"]
    assert_scim_error(idp.get("Users"), 403)


def test_bodies_and_answers_are_scim_json(acme) -> None:
    acme.on_plan("pro")
    idp = scim_client(acme)
    response = idp.get("Users")
    assert response["Content-Type"] == SCIM_JSON
    # Plain JSON is taken too (many IdPs send it), and asked for, answered.
    response = idp.client.post(
        "/scim/v2/Users",
        user_body("ada@example.test"),
        format="json",
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json"
    response = idp.client.post(
        "/scim/v2/Users", "userName=x", content_type="application/x-www-form-urlencoded"
    )
    assert_scim_error(response, 415)
    assert_scim_error(idp.call("POST", "Users", "[" * 100), 400, "invalidSyntax")


def test_unsupported_methods_are_405_with_allow(acme) -> None:
    acme.on_plan("pro")
    idp = scim_client(acme)
    response = idp.call("DELETE", "Users")
    assert_scim_error(response, 405)
    assert "POST" in response["Allow"]
    assert_scim_error(idp.call("POST", "Groups", {"displayName": "x"}), 405)


def test_members_cannot_use_the_service_with_their_login(acme) -> None:
    acme.on_plan("pro")
    admin = acme.join(Role.ADMIN)
    assert_scim_error(client_for(acme.tenant, admin.user).get("/scim/v2/Users"), 401)


def test_discovery_documents(acme) -> None:
    acme.on_plan("pro")
    idp = scim_client(acme)
    config = idp.ok("GET", "ServiceProviderConfig")
    assert config["patch"]["supported"] is True
    assert config["filter"] == {"supported": True, "maxResults": 100}
    assert config["bulk"]["supported"] is False
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    types = idp.ok("GET", "ResourceTypes")
    assert [t["id"] for t in types["Resources"]] == ["User", "Group"]
    assert idp.ok("GET", "ResourceTypes/User")["endpoint"] == "/Users"
    schemas = idp.ok("GET", "Schemas")
    assert len(schemas["Resources"]) == 2
    user = idp.ok("GET", f"Schemas/{USER_SCHEMA}")
    assert "userName" in [a["name"] for a in user["attributes"]]
    assert_scim_error(idp.call("GET", "Schemas/urn:nope"), 404)
    assert_scim_error(idp.call("GET", "ResourceTypes/Nope"), 404)


def test_unknown_paths_and_post_search_answer_in_scim_shape(idp) -> None:
    assert_scim_error(idp.get("Nope"), 404)
    assert_scim_error(idp.call("PUT", "Users/1/extra", {}), 404)
    for path in (".search", "Users/.search", "Groups/.search"):
        assert_scim_error(idp.call("POST", path, {"filter": 'userName eq "x"'}), 501)
    # Without a token, an unknown path tells nothing but 401.
    assert_scim_error(ScimClient(idp.org, None).get("Nope"), 401)


def test_attributes_and_excluded_attributes(idp) -> None:
    made = idp.ok("POST", "Users", user_body("ada@example.test", externalId="00u1"))
    path = f"Users/{made['id']}"
    only = idp.get(path, attributes="userName,urn:ietf:params:scim:schemas:core:2.0:User:active")
    assert set(only.json()) == {"schemas", "id", "userName", "active"}
    without = idp.get(path, excludedAttributes="EMAILS,groups,meta").json()
    assert set(without) == set(made) - {"emails", "groups", "meta"}
    listed = idp.get("Users", attributes="userName").json()["Resources"]
    assert all(set(r) == {"schemas", "id", "userName"} for r in listed)
    groups = idp.get("Groups", excludedAttributes="members").json()["Resources"]
    assert all("members" not in g for g in groups)


def test_the_plans_rate_applies(idp, frozen_rate_window) -> None:
    Plan.objects.filter(code="pro").update(api_requests_per_minute=2)
    assert idp.get("Users").status_code == 200
    assert idp.get("Groups")["X-RateLimit-Remaining"] == "0"
    response = idp.get("Users")
    assert_scim_error(response, 429)
    assert int(response["Retry-After"]) > 0
    # A caller without a valid token spends nothing: still 401, not 429.
    assert_scim_error(ScimClient(idp.org, "scim_forged").get("Users"), 401)


def test_a_nul_in_attribute_names_is_refused(idp) -> None:
    assert_scim_error(idp.get("Users", attributes="userName\x00"), 400, "invalidValue")
    assert_scim_error(idp.get("Groups", excludedAttributes="\x00"), 400, "invalidValue")
