"""The API contract, tested through a client generated from our own OpenAPI schema.

Once per session, sdk/generate.py (what `make sdk` runs) generates the Python client
(openapi-python-client) from the schema this code produces, into a temporary directory; the
test imports it and drives a real gunicorn server with it, on 127.0.0.1 with the tenant's
host in the Host header: signup on the public host, login on the organization's host, a
project, a task in it, the task list, the task read back (and a 304 on its ETag), and the
errors the client parses into the `Error` model. A schema that stops describing what the
server does, or that the generator cannot turn into working code, fails here.

Webhook events are typed too: the bodies a real worker delivers to a receiver parse into the
generated event models with nothing left over. The TypeScript client's step of `make sdk` is
exercised too (skipped without node/npm, or when its pinned tools cannot be installed).
"""

import importlib
import importlib.util
import shutil
import sys
from collections.abc import Callable, Iterator
from datetime import date
from http import HTTPStatus
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.core.management import call_command

from tests.support.processes import REPO, RunningServer
from tests.support.sdk import sdk_generator
from tests.support.webhook_receiver import Receiver, register_endpoint, verified

pytestmark = pytest.mark.slow

OWNER = {"email": "owner@acme.test", "password": "correct-horse-battery"}


@pytest.fixture(scope="session")
def generator() -> ModuleType:
    return sdk_generator()


@pytest.fixture(scope="session")
def schema_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sdk") / "openapi.json"
    call_command(
        "spectacular", "--format", "openapi-json", "--validate", "--fail-on-warn", "--file", path
    )
    return path


@pytest.fixture(scope="session")
def saas_client(generator: ModuleType, schema_file: Path) -> Iterator[ModuleType]:
    """The generated package, imported (generation takes a few seconds: once a session)."""
    pytest.importorskip(
        "openapi_python_client",
        reason="openapi-python-client is not installed (the `dev` extra has it: `make install`)",
    )
    package = generator.python_client_generate(schema_file, schema_file.parent / "python")
    sys.path.insert(0, str(package.parent))
    try:
        yield importlib.import_module(package.name)
    finally:
        sys.path.remove(str(package.parent))
        for name in [n for n in sys.modules if n.split(".")[0] == package.name]:
            del sys.modules[name]


@pytest.fixture
def server(committed: None, start_server: Callable[..., RunningServer]) -> RunningServer:
    return start_server()


def test_a_tenant_works_through_the_generated_client(saas_client, server) -> None:
    from saas_client import AuthenticatedClient, Client
    from saas_client.api.auth import auth_login
    from saas_client.api.projects import projects_create, projects_list
    from saas_client.api.signup import signup
    from saas_client.api.tasks import tasks_create, tasks_list, tasks_retrieve
    from saas_client.models import (
        Error,
        LoginRequest,
        PriorityEnum,
        Project,
        ProjectCreateRequest,
        Signup,
        SignupRequest,
        StatusEnum,
        Task,
        TaskCreateRequest,
        TaskPage,
        TasksListOrdering,
        TasksListStatus,
        TokenPair,
    )

    # *.localhost does not resolve everywhere: connect to the loopback, name the host.
    public = Client(base_url=server.url, headers={"Host": "localhost"})
    signed_up = signup.sync_detailed(
        client=public, body=SignupRequest(name="Acme", slug="acme", **OWNER)
    )
    assert signed_up.status_code == HTTPStatus.CREATED, signed_up.content
    assert isinstance(signed_up.parsed, Signup)
    assert signed_up.parsed.tenant.slug == "acme"
    assert signed_up.parsed.owner.email == OWNER["email"]
    host = signed_up.parsed.domain
    assert host == "acme.localhost"

    tenant = Client(base_url=server.url, headers={"Host": host})
    login = auth_login.sync_detailed(client=tenant, body=LoginRequest(**OWNER))
    assert login.status_code == HTTPStatus.OK, login.content
    assert isinstance(login.parsed, TokenPair)
    assert login.parsed.user.email == OWNER["email"]

    api = AuthenticatedClient(
        base_url=server.url, token=login.parsed.access, headers={"Host": host}
    )
    project = projects_create.sync_detailed(
        client=api, body=ProjectCreateRequest(name="Rocket", description="To the moon")
    )
    assert project.status_code == HTTPStatus.CREATED, project.content
    assert isinstance(project.parsed, Project)
    assert project.parsed.name == "Rocket"
    assert project.parsed.archived_at is None
    assert project.headers["location"].endswith(f"/api/v1/projects/{project.parsed.id}/")
    project_id: int = project.parsed.id

    created = tasks_create.sync_detailed(
        project_id,
        client=api,
        body=TaskCreateRequest(
            title="Launch", priority=PriorityEnum.HIGH, due_date=date(2030, 1, 2)
        ),
    )
    assert created.status_code == HTTPStatus.CREATED, created.content
    task = created.parsed
    assert isinstance(task, Task)
    assert (task.title, task.priority, task.status) == (
        "Launch",
        PriorityEnum.HIGH,
        StatusEnum.TODO,
    )
    assert task.due_date == date(2030, 1, 2)

    listed = tasks_list.sync_detailed(
        project_id,
        client=api,
        status=TasksListStatus.TODO,
        ordering=TasksListOrdering.DUE_DATE_DESC,
    )
    assert listed.status_code == HTTPStatus.OK, listed.content
    assert isinstance(listed.parsed, TaskPage)
    assert [t.id for t in listed.parsed.results] == [task.id]
    assert listed.parsed.next_ is None

    read = tasks_retrieve.sync_detailed(project_id, task.id, client=api)
    assert read.status_code == HTTPStatus.OK
    assert read.parsed == task
    unchanged = tasks_retrieve.sync_detailed(
        project_id, task.id, client=api, if_none_match=read.headers["etag"]
    )
    assert unchanged.status_code == HTTPStatus.NOT_MODIFIED

    # Errors come back as the documented Error model.
    invalid = projects_create.sync_detailed(client=api, body=ProjectCreateRequest(name=""))
    assert invalid.status_code == HTTPStatus.BAD_REQUEST
    assert isinstance(invalid.parsed, Error)
    assert invalid.parsed.error.code == "invalid"
    assert "name" in invalid.parsed.error.fields.to_dict()
    assert invalid.parsed.error.request_id

    missing = tasks_retrieve.sync_detailed(project_id, task.id + 1000, client=api)
    assert missing.status_code == HTTPStatus.NOT_FOUND
    assert isinstance(missing.parsed, Error)

    anonymous = AuthenticatedClient(base_url=server.url, token="not-a-jwt", headers={"Host": host})
    refused = projects_list.sync_detailed(client=anonymous)
    assert refused.status_code == HTTPStatus.UNAUTHORIZED
    assert isinstance(refused.parsed, Error)


def _leftovers(model: Any) -> dict[str, Any]:
    """Fields the body had that the schema does not describe, at any depth."""
    found = {f"{type(model).__name__}.{k}": v for k, v in model.additional_properties.items()}
    for field in type(model).__attrs_attrs__:  # the generated models are attrs classes
        value = getattr(model, field.name)
        if hasattr(value, "additional_properties"):
            found.update(_leftovers(value))
    return found


def test_delivered_webhook_events_parse_into_the_generated_models(
    saas_client, mail, make_org, hook_receiver: Receiver
) -> None:
    """Every event a real worker delivers, for changes made over the API, is the generated
    model of its type (`task.created` -> TaskCreatedEvent): typed fields, nothing unknown."""
    from saas.webhooks_out.openapi import event_component_name

    org = make_org("acme").on_plan("starter")
    endpoint = register_endpoint(org, hook_receiver.url(), ["project.*", "task.*"])
    project = org.ok("post", "projects/", {"name": "Rocket"})
    task = org.ok("post", f"projects/{project['id']}/tasks/", {"title": "Launch", "priority": 3})
    org.ok("patch", f"projects/{project['id']}/tasks/{task['id']}/", {"status": "done"})
    org.ok("delete", f"projects/{project['id']}/tasks/{task['id']}/")
    org.ok("delete", f"projects/{project['id']}/")

    models = importlib.import_module(f"{saas_client.__name__}.models")
    parsed = {}
    for request in hook_receiver.wait_for(5):
        body = verified(endpoint["secret"], request)
        model = getattr(models, event_component_name(body["type"]))
        event = model.from_dict(body)
        assert _leftovers(event) == {}
        assert event.to_dict()["data"].keys() == body["data"].keys()
        parsed[body["type"]] = event
    assert sorted(parsed) == [
        "project.created",
        "project.deleted",
        "task.created",
        "task.deleted",
        "task.updated",
    ]
    created = parsed["task.created"]
    assert (created.data.id, created.data.title, created.data.priority) == (task["id"], "Launch", 3)
    assert created.data.due_date is None
    assert created.timestamp.tzinfo is not None
    assert parsed["task.updated"].data.status == "done"
    assert parsed["project.deleted"].data.name == "Rocket"


def test_the_python_client_names_read_well(saas_client) -> None:
    """Functions are the operation ids, models the component names (api/openapi.py)."""
    root = Path(saas_client.__file__).parent
    functions = {p.stem for p in (root / "api").glob("*/*.py") if p.name != "__init__.py"}
    assert {"signup", "auth_login", "projects_create", "tasks_list", "members_leave"} <= functions
    creates = {f for f in functions if f.endswith("_create")}  # POSTs to a collection only
    assert creates == {
        "projects_create",
        "tasks_create",
        "invitations_create",
        "oauth_applications_create",
        "scim_tokens_create",
        "scim_users_create",
        "webhook_endpoints_create",
        "api_keys_create",
    }
    models = set(saas_client.models.__all__)
    assert {
        "Project",
        "ProjectCreateRequest",
        "Task",
        "PatchedTaskUpdateRequest",
        "Error",
    } <= models
    assert [m for m in models if "Input" in m or "Output" in m] == []


def test_make_sdk_builds_the_typescript_client(generator, schema_file, tmp_path) -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: `make sdk`'s TypeScript step needs them")
    assert "sdk/generate.py" in (REPO / "Makefile").read_text()
    try:
        out = generator.typescript_client_generate(schema_file, tmp_path / "typescript")
    except generator.NodeToolsUnavailable as error:
        pytest.skip(f"the pinned Node tools could not be installed (offline?): {error}")
    # sdk/typescript/example.ts type-checked against the generated types on the way.
    assert {p.name for p in out.iterdir()} == {
        "schema.d.ts",
        "index.js",
        "index.d.ts",
        "package.json",
    }
    types = (out / "schema.d.ts").read_text()
    assert 'post: operations["tasks_create"];' in types
    assert "ProjectCreateRequest: {" in types
    declarations = (out / "index.d.ts").read_text()
    assert "export declare function createSaasClient" in declarations
    # Webhook bodies by type, which sdk/typescript/example.ts narrows on `type`.
    assert "export type WebhookEvents" in declarations
    assert '"task.created": {' in types
