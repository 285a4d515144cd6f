"""OAuth2 tokens in process: scopes limited by role at consent, tokens bound to their
application's tenant, revocation, introspection, machine clients tied to their creator."""

import pytest
from django.test import Client

from accounts.models import Membership, OAuthApplication, Role
from tests.support.oauth import (
    PUBLIC,
    REDIRECT_URI,
    approve,
    authorize_query,
    browser_for,
    client_credentials_token,
    consent_fields,
    exchange,
    form_post,
    pkce_pair,
    redirect_params,
)

pytestmark = pytest.mark.usefixtures("signup_plan_includes_api")

PROJECTS = "/api/v1/projects/"
CODE = OAuthApplication.GRANT_AUTHORIZATION_CODE


def api(tenant_host: str, token: str) -> Client:
    return Client(HTTP_HOST=tenant_host, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_viewer_cannot_authorize_write(db, make_tenant, make_member, register_app) -> None:
    acme = make_tenant("acme")
    app = register_app(
        acme, make_member(acme, Role.OWNER), grant_type=CODE, scopes=("read", "write")
    )
    viewer = browser_for(make_member(acme, Role.VIEWER))
    _, challenge = pkce_pair()

    refused = viewer.get(authorize_query(app, challenge=challenge, scope="read write"))
    assert refused.status_code == 302
    assert redirect_params(refused["Location"]) == {
        "error": "invalid_scope",
        "error_description": "Your role cannot grant the requested scope.",
        "state": "s1",
    }
    # The consent form's hidden scope cannot be widened either.
    page = viewer.get(authorize_query(app, challenge=challenge, scope="read"))
    assert page.status_code == 200
    fields = {**consent_fields(page.content.decode()), "scope": "read write", "allow": "on"}
    tampered = form_post(viewer, "/o/authorize/", fields)
    assert redirect_params(tampered["Location"])["error"] == "invalid_scope"


def test_viewer_asking_for_no_scope_gets_what_the_role_may_grant(
    db, make_tenant, make_member, register_app
) -> None:
    acme = make_tenant("acme")
    app = register_app(
        acme, make_member(acme, Role.OWNER), grant_type=CODE, scopes=("read", "write")
    )
    viewer = make_member(acme, Role.VIEWER)
    verifier, challenge = pkce_pair()
    sent = approve(browser_for(viewer), authorize_query(app, challenge=challenge, scope=None))
    token = exchange(app, sent["code"], verifier)
    assert token["scope"] == "read"
    assert api("acme.localhost", token["access_token"]).get(PROJECTS).status_code == 200


def test_billing_role_authorizes_billing_but_not_read(
    db, make_tenant, make_member, register_app
) -> None:
    acme = make_tenant("acme")
    app = register_app(
        acme, make_member(acme, Role.OWNER), grant_type=CODE, scopes=("read", "billing")
    )
    browser = browser_for(make_member(acme, Role.BILLING))
    _, challenge = pkce_pair()
    assert (
        browser.get(authorize_query(app, challenge=challenge, scope="billing")).status_code == 200
    )
    refused = browser.get(authorize_query(app, challenge=challenge, scope="read"))
    assert redirect_params(refused["Location"])["error"] == "invalid_scope"


def test_only_members_of_the_applications_tenant_can_authorize(
    db, make_tenant, make_member, register_app
) -> None:
    acme, beta = make_tenant("acme"), make_tenant("beta")
    app = register_app(acme, make_member(acme, Role.OWNER), grant_type=CODE)
    outsider = browser_for(make_member(beta, Role.OWNER))
    _, challenge = pkce_pair()
    refused = outsider.get(authorize_query(app, challenge=challenge, scope="read"))
    assert redirect_params(refused["Location"])["error"] == "access_denied"


def test_pkce_is_required_and_plain_is_refused(db, make_tenant, make_member, register_app) -> None:
    acme = make_tenant("acme")
    owner = make_member(acme, Role.OWNER)
    app = register_app(acme, owner, grant_type=CODE)
    browser = browser_for(owner)
    query = authorize_query(app, challenge="x" * 43, scope="read")
    without = browser.get(query.replace("code_challenge=", "no_challenge="))
    assert redirect_params(without["Location"])["error"] == "invalid_request"
    plain = approve(browser, query.replace("S256", "plain"))
    assert plain["error"] == "invalid_request"
    verifier, challenge = pkce_pair()
    sent = approve(browser, authorize_query(app, challenge=challenge, scope="read"))
    wrong = form_post(
        Client(HTTP_HOST=PUBLIC),
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": sent["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier[::-1],
        },
        HTTP_AUTHORIZATION=app.basic,
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"


def test_authorize_needs_a_signed_in_user(db, make_tenant, make_member, register_app) -> None:
    acme = make_tenant("acme")
    app = register_app(acme, make_member(acme, Role.OWNER), grant_type=CODE)
    response = Client(HTTP_HOST=PUBLIC).get(authorize_query(app, challenge="x" * 43, scope="read"))
    assert response.status_code == 302
    assert response["Location"].startswith("/o/login/?next=/o/authorize/")


def test_login_page_checks_password_and_csrf(db, make_tenant, make_member) -> None:
    from tests.factories import PASSWORD

    acme = make_tenant("acme")
    user = make_member(acme)
    strict = Client(HTTP_HOST=PUBLIC, enforce_csrf_checks=True)
    no_csrf = strict.post("/o/login/", {"username": user.email, "password": PASSWORD})
    assert no_csrf.status_code == 403
    browser = Client(HTTP_HOST=PUBLIC)
    wrong = browser.post("/o/login/", {"username": user.email, "password": "nope-nope-nope"})
    assert wrong.status_code == 200
    assert b"Please enter a correct" in wrong.content
    ok = browser.post(
        "/o/login/",
        {"username": user.email.upper(), "password": PASSWORD, "next": "/o/authorize/?x=1"},
    )
    assert ok.status_code == 302
    assert ok["Location"] == "/o/authorize/?x=1"
    offsite = browser.post(
        "/o/login/",
        {"username": user.email, "password": PASSWORD, "next": "https://evil.test/"},
    )
    assert offsite["Location"] == "/o/login/"


def test_token_works_on_its_tenant_only(db, make_tenant, make_member, register_app) -> None:
    acme, beta = make_tenant("acme"), make_tenant("beta")
    owner = make_member(acme, Role.OWNER)
    make_member(beta, Role.OWNER, user=owner)  # a member of both: still bound to acme
    token = client_credentials_token(register_app(acme, owner))["access_token"]
    assert api("acme.localhost", token).get(PROJECTS).status_code == 200
    refused = api("beta.localhost", token).get(PROJECTS)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "token_wrong_tenant"
    assert api(PUBLIC, token).get("/api/schema/").status_code == 401


def test_scopes_limit_a_token_and_narrowing_the_application_narrows_it(
    db, make_tenant, make_member, register_app
) -> None:
    acme = make_tenant("acme")
    app = register_app(acme, make_member(acme, Role.OWNER), scopes=("read", "write"))
    read_only = api("acme.localhost", client_credentials_token(app, "read")["access_token"])
    assert read_only.get(PROJECTS).status_code == 200
    refused = read_only.post(PROJECTS, {"name": "x"}, content_type="application/json")
    assert refused.status_code == 403
    writer = api("acme.localhost", client_credentials_token(app, "read write")["access_token"])
    created = writer.post(PROJECTS, {"name": "Rocket"}, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["created_by"] == app.application.user_id

    app.application.allowed_scopes = "read"
    app.application.save()
    assert writer.post(PROJECTS, {"name": "x"}, content_type="application/json").status_code == 403


def test_client_credentials_refuses_scopes_beyond_the_application(
    db, make_tenant, make_member, register_app
) -> None:
    acme = make_tenant("acme")
    app = register_app(acme, make_member(acme, Role.OWNER), scopes=("read",))
    response = form_post(
        Client(HTTP_HOST=PUBLIC),
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "read write"},
        HTTP_AUTHORIZATION=app.basic,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert client_credentials_token(app, None)["scope"] == "read"  # none asked: all it may


def test_machine_client_stops_when_its_creator_leaves(
    db, make_tenant, make_member, register_app, django_capture_on_commit_callbacks
) -> None:
    acme = make_tenant("acme")
    admin = make_member(acme, Role.ADMIN)
    app = register_app(acme, admin)
    client = api("acme.localhost", client_credentials_token(app)["access_token"])
    assert client.get(PROJECTS).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        Membership.objects.filter(user=admin, tenant=acme).delete()
    assert client.get(PROJECTS).status_code == 401
    again = form_post(
        Client(HTTP_HOST=PUBLIC),
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=app.basic,
    )
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_client"


def test_authorization_code_token_follows_the_users_current_role(
    db, make_tenant, make_member, register_app, django_capture_on_commit_callbacks
) -> None:
    acme = make_tenant("acme")
    app = register_app(
        acme, make_member(acme, Role.OWNER), grant_type=CODE, scopes=("read", "write")
    )
    member = make_member(acme, Role.MEMBER)
    verifier, challenge = pkce_pair()
    sent = approve(
        browser_for(member), authorize_query(app, challenge=challenge, scope="read write")
    )
    token = exchange(app, sent["code"], verifier)
    client = api("acme.localhost", token["access_token"])
    assert client.post(PROJECTS, {"name": "a"}, content_type="application/json").status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        Membership.objects.filter(user=member, tenant=acme).update(role=Role.VIEWER)
        from accounts.access import member_access_forget

        member_access_forget(user_id=member.pk, tenant_ids=[acme.pk])
    assert client.post(PROJECTS, {"name": "b"}, content_type="application/json").status_code == 403
    assert client.get(PROJECTS).status_code == 200


@pytest.mark.parametrize("value", ["not-a-token", "abc.def", "a" * 30])
def test_unknown_opaque_bearer_values_are_refused(db, make_tenant, value) -> None:
    make_tenant("acme")
    response = api("acme.localhost", value).get(PROJECTS)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_invalid"


def test_revoked_token_is_refused_and_introspects_inactive(
    db, make_tenant, make_member, register_app
) -> None:
    acme = make_tenant("acme")
    app = register_app(acme, make_member(acme, Role.OWNER), scopes=("read", "write"))
    token = client_credentials_token(app, "read write")["access_token"]
    public = Client(HTTP_HOST=PUBLIC)

    active = form_post(public, "/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=app.basic)
    assert active.status_code == 200
    assert active.json()["active"] is True
    assert active.json()["scope"] == "read write"
    assert active.json()["client_id"] == app.client_id

    revoked = form_post(public, "/o/revoke_token/", {"token": token}, HTTP_AUTHORIZATION=app.basic)
    assert revoked.status_code == 200
    assert api("acme.localhost", token).get(PROJECTS).status_code == 401
    after = form_post(public, "/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=app.basic)
    assert after.json() == {"active": False}


def test_introspection_needs_client_credentials_and_stays_within_the_tenant(
    db, make_tenant, make_member, register_app
) -> None:
    acme, beta = make_tenant("acme"), make_tenant("beta")
    acme_app = register_app(acme, make_member(acme, Role.OWNER))
    other_acme_app = register_app(acme, acme_app.application.user)
    beta_app = register_app(beta, make_member(beta, Role.OWNER))
    token = client_credentials_token(acme_app)["access_token"]
    public = Client(HTTP_HOST=PUBLIC)

    anonymous = form_post(public, "/o/introspect/", {"token": token})
    assert anonymous.status_code == 401
    with_token = form_post(
        public, "/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert with_token.status_code == 401
    same_tenant = form_post(
        public, "/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=other_acme_app.basic
    )
    assert same_tenant.json()["active"] is True
    other_tenant = form_post(
        public, "/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=beta_app.basic
    )
    assert other_tenant.json() == {"active": False}
    # Nor can another client revoke it.
    form_post(public, "/o/revoke_token/", {"token": token}, HTTP_AUTHORIZATION=beta_app.basic)
    assert api("acme.localhost", token).get(PROJECTS).status_code == 200


def test_deleting_the_application_revokes_its_tokens(
    db, make_tenant, make_member, register_app
) -> None:
    acme = make_tenant("acme")
    app = register_app(acme, make_member(acme, Role.OWNER))
    client = api("acme.localhost", client_credentials_token(app)["access_token"])
    assert client.get(PROJECTS).status_code == 200
    app.application.delete()
    assert client.get(PROJECTS).status_code == 401


def test_tokens_are_stored_only_as_checksums(db, make_tenant, make_member, register_app) -> None:
    from oauth2_provider.models import AccessToken

    acme = make_tenant("acme")
    token = client_credentials_token(register_app(acme, make_member(acme, Role.OWNER)))
    stored = AccessToken.objects.get()
    assert stored.token == ""
    assert token["access_token"] not in stored.token_checksum


def test_login_page_is_throttled_per_account(db, make_tenant, make_member) -> None:
    from tests.factories import PASSWORD

    user = make_member(make_tenant("acme"))
    browser = Client(HTTP_HOST=PUBLIC)
    statuses = [
        browser.post(
            "/o/login/", {"username": user.email, "password": "wrong-password"}
        ).status_code
        for _ in range(6)
    ]
    assert statuses[-1] == 429
    blocked = browser.post("/o/login/", {"username": user.email, "password": PASSWORD})
    assert blocked.status_code == 429
    assert 1 <= int(blocked["Retry-After"]) <= 61  # what a browser or script can wait for


def test_public_client_exchanges_its_code_with_pkce_alone(
    db, make_tenant, make_member, register_app
) -> None:
    acme = make_tenant("acme")
    owner = make_member(acme, Role.OWNER)
    app = register_app(acme, owner, grant_type=CODE, client_type=OAuthApplication.CLIENT_PUBLIC)
    verifier, challenge = pkce_pair()
    sent = approve(browser_for(owner), authorize_query(app, challenge=challenge, scope="read"))
    data = {
        "grant_type": "authorization_code",
        "client_id": app.client_id,
        "code": sent["code"],
        "redirect_uri": REDIRECT_URI,
    }
    public = Client(HTTP_HOST=PUBLIC)
    assert form_post(public, "/o/token/", data).status_code == 400  # no verifier
    sent = approve(browser_for(owner), authorize_query(app, challenge=challenge, scope="read"))
    token = form_post(
        public, "/o/token/", {**data, "code": sent["code"], "code_verifier": verifier}
    )
    assert token.status_code == 200, token.content
    assert api("acme.localhost", token.json()["access_token"]).get(PROJECTS).status_code == 200
