"""The OpenAPI document stays complete: every operation says what it is, what it answers and
who may call it. A new endpoint without its documentation fails here."""

import pytest
from drf_spectacular.generators import SchemaGenerator

PUBLIC_PATHS = {
    "/api/v1/signup/",
    "/api/v1/plans/",
    "/api/v1/billing/stripe/webhook/",
    "/api/v1/tls/ask/",
}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator(urlconf="config.urls").get_schema(request=None, public=True)


def operations(schema: dict) -> list[tuple[str, str, dict]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def problems_of(path: str, method: str, operation: dict) -> list[str]:
    found = [f"no {key}" for key in ("summary", "description", "tags") if not operation.get(key)]
    responses = operation.get("responses", {})
    ok = {code: r for code, r in responses.items() if str(code).startswith("2")}
    if not ok:
        found.append("no 2xx response")
    elif not any(r.get("content") for r in ok.values()) and "204" not in ok:
        found.append("no 2xx response schema")
    if path in PUBLIC_PATHS:
        if operation.get("security") not in (None, [], [{}]):
            found.append("public endpoint shows security")
    else:
        # Every tenant endpoint can answer 401 (a bad token is refused even where none is
        # needed), and says which credentials it takes; [{}] means "none" on purpose.
        if "401" not in responses:
            found.append("no 401 response")
        if "security" not in operation:
            found.append("no security scheme")
    return found


def test_every_operation_is_documented(schema: dict) -> None:
    missing = {
        f"{method.upper()} {path}": problems
        for path, method, operation in operations(schema)
        if (problems := problems_of(path, method, operation))
    }
    assert missing == {}


def test_every_paginated_list_documents_its_page_parameters(schema: dict) -> None:
    components = schema["components"]["schemas"]
    lists = {}
    for path, method, operation in operations(schema):
        content = operation["responses"].get("200", {}).get("content", {})
        ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
        if "results" in components.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}):
            lists[f"{method.upper()} {path}"] = {p["name"] for p in operation["parameters"]}
    assert "GET /api/v1/audit-log/" in lists
    unpaged = [op for op, names in lists.items() if not ({"page", "cursor"} & names)]
    assert unpaged == []
    assert [op for op, names in lists.items() if "page_size" not in names] == []


def test_the_walk_sees_the_api(schema: dict) -> None:
    seen = {f"{method.upper()} {path}" for path, method, _ in operations(schema)}
    assert {"POST /api/v1/signup/", "GET /api/v1/audit-log/", "GET /api/v1/members/"} <= seen
    # And it does flag an undocumented operation.
    assert problems_of("/api/v1/x/", "get", {"responses": {}}) == [
        "no summary",
        "no description",
        "no tags",
        "no 2xx response",
        "no 401 response",
        "no security scheme",
    ]


def test_names_read_well_in_generated_clients(schema: dict) -> None:
    """Component names become the clients' classes, operation ids their functions
    (api/openapi.py; `make sdk`)."""
    names = set(schema["components"]["schemas"])
    assert {"Project", "ProjectCreateRequest", "PatchedTaskUpdateRequest", "Error"} <= names
    assert [n for n in names if "Input" in n or "Output" in n or "Serializer" in n] == []
    generic = {"Create", "Update", "Change", "Accept", "Role", "Transfer", "Leave"}
    assert [n for n in names if n.removeprefix("Patched").removesuffix("Request") in generic] == []
    ids = [operation["operationId"] for _, _, operation in operations(schema)]
    assert len(ids) == len(set(ids))
    actions = [
        item["post"]["operationId"]
        for item in schema["paths"].values()
        if "post" in item and "get" not in item
    ]
    assert "auth_login" in actions
    assert [i for i in actions if i.endswith("_create")] == []
    enums = schema["components"]["schemas"]
    assert enums["PriorityEnum"]["x-enum-varnames"] == ["LOW", "NORMAL", "HIGH", "URGENT"]
