"""Invalid input is answered once, completely: one 400 names every invalid field (type
errors, unknown fields, the serializer's own checks and the services' checks of a slug, a
password or an assignee alike), and a refused choice says which values are allowed."""

import pytest

from accounts.models import Invitation, Role
from saas.audit.models import ActorKind
from saas.workspace.models import TaskPriority, TaskStatus
from saas.workspace.selectors import PROJECT_ORDERING_FIELDS, TASK_ORDERING_FIELDS
from tenants.models import Tenant
from tests.factories import Org, make_user
from tests.support.http import assert_error

GOOD_SIGNUP = {
    "name": "Acme Inc.",
    "slug": "acme",
    "email": "owner@acme.test",
    "password": "correct-horse-battery",
}


def fields_of(response, status: int = 400, code: str | None = "invalid") -> dict:
    return assert_error(response, status, code)["fields"]


def choice_message(value: str, allowed) -> str:
    return f'"{value}" is not a valid choice; expected one of: {", ".join(map(str, allowed))}.'


# ---- every invalid field at once ------------------------------------------------------------


def test_signup_names_a_bad_email_a_weak_password_and_a_bad_slug_at_once(db, client_for) -> None:
    body = {**GOOD_SIGNUP, "slug": "Not--A-Slug", "email": "not-an-email", "password": "short"}
    fields = fields_of(client_for(None).post("/api/v1/signup/", body, format="json"))
    assert set(fields) == {"slug", "email", "password"}
    assert fields["slug"] == ["Not a valid subdomain."]
    assert any("too short" in message for message in fields["password"])
    assert Tenant.objects.count() == 0


def test_signup_names_type_errors_unknown_fields_and_service_checks_together(
    db, client_for
) -> None:
    body = {"name": 42, "slug": "admin", "email": "owner@acme.test", "password": "password"}
    response = client_for(None).post("/api/v1/signup/", {**body, "is_staff": True}, format="json")
    fields = fields_of(response)
    assert set(fields) == {"name", "slug", "password", "is_staff"}
    assert fields["name"] == ["Must be a string."]
    assert fields["slug"] == ["Reserved."]
    assert fields["is_staff"] == ["Unknown field."]


def test_signup_password_similar_to_the_email_is_named_beside_other_fields(db, client_for) -> None:
    body = {**GOOD_SIGNUP, "slug": "-bad", "email": "quinoa.pancake@acme.test"}
    fields = fields_of(
        client_for(None).post(
            "/api/v1/signup/", {**body, "password": "quinoa.pancake"}, format="json"
        )
    )
    assert set(fields) == {"slug", "password"}


def test_a_single_service_check_keeps_its_own_code(db, client_for) -> None:
    """One problem alone is answered as before: its specific code and message."""
    error = assert_error(
        client_for(None).post(
            "/api/v1/signup/", {**GOOD_SIGNUP, "password": "password"}, format="json"
        ),
        400,
        "weak_password",
    )
    assert set(error["fields"]) == {"password"}
    error = assert_error(
        client_for(None).post("/api/v1/signup/", {**GOOD_SIGNUP, "slug": "www"}, format="json"),
        400,
        "slug_reserved",
    )
    assert error["fields"] == {"slug": ["Reserved."]}


def test_invitation_create_names_every_invalid_field(db, make_org) -> None:
    admin: Org = make_org("acme", role=Role.ADMIN)
    response = admin.client.post(
        "/api/v1/invitations/", {"email": 7, "role": "bogus", "id": 3}, format="json"
    )
    fields = fields_of(response)
    assert set(fields) == {"email", "role", "id"}
    assert fields["role"] == [choice_message("bogus", ["admin", "billing", "member", "viewer"])]
    response = admin.client.post(
        "/api/v1/invitations/", {"email": "nope", "role": "owner"}, format="json"
    )
    assert set(fields_of(response)) == {"email", "role"}
    assert Invitation.objects.count() == 0


def test_project_create_and_update_name_every_invalid_field(db, acme: Org) -> None:
    response = acme.client.post(
        "/api/v1/projects/", {"name": "", "description": 7, "created_by": 1}, format="json"
    )
    assert set(fields_of(response)) == {"name", "description", "created_by"}
    project = acme.project()
    response = acme.client.patch(
        f"/api/v1/projects/{project.pk}/",
        {"name": 5, "description": "x" * 10_001, "archived": "maybe"},
        format="json",
    )
    assert set(fields_of(response)) == {"name", "description", "archived"}


def test_task_create_names_a_bad_status_a_missing_title_and_a_stranger_assignee(
    db, acme: Org
) -> None:
    project = acme.project()
    stranger = make_user()
    response = acme.client.post(
        f"/api/v1/projects/{project.pk}/tasks/",
        {"status": "bogus", "assignee": stranger.pk, "due_date": "soon"},
        format="json",
    )
    fields = fields_of(response)
    assert set(fields) == {"status", "title", "assignee", "due_date"}
    assert fields["status"] == [choice_message("bogus", TaskStatus.values)]
    assert fields["assignee"] == ["Not a member of this organization."]


def test_task_update_names_every_invalid_field(db, acme: Org) -> None:
    project = acme.project()
    [task] = acme.tasks(project, "Write")
    response = acme.client.patch(
        f"/api/v1/projects/{project.pk}/tasks/{task.pk}/",
        {"status": "bogus", "priority": 9, "assignee": make_user().pk, "title": ""},
        format="json",
    )
    fields = fields_of(response)
    assert set(fields) == {"status", "priority", "assignee", "title"}
    assert fields["priority"] == [choice_message("9", TaskPriority.values)]


def test_a_lone_stranger_assignee_is_still_named(db, acme: Org) -> None:
    project = acme.project()
    response = acme.client.post(
        f"/api/v1/projects/{project.pk}/tasks/",
        {"title": "Write", "assignee": make_user().pk},
        format="json",
    )
    assert fields_of(response) == {"assignee": ["Not a member of this organization."]}


def test_audit_log_filters_name_every_invalid_one(db, make_org) -> None:
    owner: Org = make_org("acme", role=Role.OWNER).on_plan("pro")  # Pro has the audit log
    response = owner.client.get("/api/v1/audit-log/?until=&actor_kind=bogus&actor=0")
    fields = fields_of(response)
    assert set(fields) == {"until", "actor_kind", "actor"}
    assert fields["actor_kind"] == [choice_message("bogus", ActorKind.values)]


# ---- choices say what they accept -----------------------------------------------------------


def test_the_message_lists_the_allowed_values(db, acme: Org) -> None:
    project = acme.project()
    response = acme.client.post(
        f"/api/v1/projects/{project.pk}/tasks/", {"title": "t", "status": "bogus"}, format="json"
    )
    assert fields_of(response)["status"] == [
        '"bogus" is not a valid choice; expected one of: todo, in_progress, done.'
    ]


def _orderings(fields: tuple[str, ...]) -> list[str]:
    return [option for field in fields for option in (field, f"-{field}")]


def _choice_cases() -> list:
    """(role of the caller, method, path with {project}/{task}/{member}, body or None, field,
    allowed values): every endpoint that takes a choice, in a body or a query."""
    assignable = ["admin", "billing", "member", "viewer"]
    return [
        pytest.param(
            "member", "post", "/api/v1/projects/{project}/tasks/",
            {"title": "t", "priority": "bogus"}, "priority", TaskPriority.values,
            id="task-priority",
        ),
        pytest.param(
            "member", "patch", "/api/v1/projects/{project}/tasks/{task}/",
            {"status": "bogus"}, "status", TaskStatus.values, id="task-update-status",
        ),
        pytest.param(
            "member", "get", "/api/v1/projects/{project}/tasks/?status=bogus",
            None, "status", TaskStatus.values, id="task-list-status",
        ),
        pytest.param(
            "member", "get", "/api/v1/projects/{project}/tasks/?ordering=bogus", None, "ordering",
            _orderings(TASK_ORDERING_FIELDS),
            id="task-list-ordering",
        ),
        pytest.param(
            "member", "get", "/api/v1/projects/?ordering=bogus", None, "ordering",
            _orderings(PROJECT_ORDERING_FIELDS),
            id="project-list-ordering",
        ),
        pytest.param(
            "admin", "patch", "/api/v1/members/{member}/", {"role": "bogus"}, "role", assignable,
            id="member-role",
        ),
        pytest.param(
            "admin", "post", "/api/v1/invitations/", {"email": "a@b.test", "role": "bogus"},
            "role", assignable, id="invitation-role",
        ),
        pytest.param(
            "member", "get", "/api/v1/members/?role=bogus", None, "role", Role.values,
            id="member-list-role",
        ),
        pytest.param(
            "owner", "get", "/api/v1/audit-log/?actor_kind=bogus", None, "actor_kind",
            ActorKind.values, id="audit-actor-kind",
        ),
        pytest.param(
            "owner", "post", "/api/v1/oauth/applications/",
            {"name": "x", "grant_type": "bogus"}, "grant_type",
            ["authorization-code", "client-credentials"], id="oauth-grant-type",
        ),
        pytest.param(
            "owner", "post", "/api/v1/oauth/applications/",
            {"name": "x", "grant_type": "client-credentials", "client_type": "bogus"},
            "client_type", ["confidential", "public"], id="oauth-client-type",
        ),
    ]  # fmt: skip


@pytest.mark.parametrize(("role", "method", "path", "body", "field", "allowed"), _choice_cases())
def test_every_choice_lists_its_allowed_values(
    db, make_org, make_member, role, method, path, body, field, allowed
) -> None:
    org: Org = make_org("acme", role=role).on_plan("pro")  # every feature: only the choice is wrong
    project = org.project()
    [task] = org.tasks(project, "t")
    member = make_member(org.tenant)
    url = path.format(project=project.pk, task=task.pk, member=member.pk)
    kwargs = {"format": "json"} if body is not None else {}
    response = getattr(org.client, method)(url, body, **kwargs)
    assert fields_of(response)[field] == [choice_message("bogus", allowed)]


def test_a_list_of_choices_names_the_bad_item(db, make_org) -> None:
    owner: Org = make_org("acme", role=Role.OWNER)
    response = owner.client.post(
        "/api/v1/oauth/applications/",
        {"name": "x", "grant_type": "client-credentials", "scopes": ["read", "bogus"]},
        format="json",
    )
    message = fields_of(response)["scopes"]["1"]
    assert message[0].startswith('"bogus" is not a valid choice; expected one of: read, ')


def test_a_long_refused_value_is_shortened(db, acme: Org) -> None:
    project = acme.project()
    response = acme.client.post(
        f"/api/v1/projects/{project.pk}/tasks/", {"title": "t", "status": "x" * 500}, format="json"
    )
    [message] = fields_of(response)["status"]
    assert len(message) < 200
    assert message.endswith("expected one of: todo, in_progress, done.")


def test_every_choice_field_of_the_api_lists_its_values() -> None:
    """The serializers of this project use api.serializers.ChoiceField (or a subclass), whose
    invalid_choice message names the allowed values: a plain DRF ChoiceField would not."""
    from rest_framework import serializers

    import config.urls  # noqa: F401 - imports every API module
    from api.serializers import ChoiceField

    def subclasses(cls: type) -> list[type]:
        return [cls, *(s for sub in cls.__subclasses__() for s in subclasses(sub))]

    ours = ("accounts", "api", "billing", "saas", "tenants")
    found, plain = 0, []
    for cls in subclasses(serializers.Serializer):
        if cls.__module__.split(".")[0] not in ours:
            continue
        for name, field in getattr(cls, "_declared_fields", {}).items():
            for each in (field, getattr(field, "child", None)):
                if isinstance(each, serializers.ChoiceField):
                    found += 1
                    if not isinstance(each, ChoiceField):
                        plain.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
    assert found >= 10
    assert plain == []
