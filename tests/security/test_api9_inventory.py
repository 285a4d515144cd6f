"""OWASP API9:2023 Improper Inventory Management: endpoints nobody documented or remembers
(old versions, debug routes, forgotten hosts) stay reachable and unprotected.

What this product exposes: two URL maps (config/urls_public.py, config/urls_tenants.py)
picked per request by host; the OpenAPI document at /api/schema/ describes the API of
both, versioned in the path (/api/v1/); beside the API, the public host serves the OAuth2
provider (/o/, described by its RFC 8414 metadata), the operator admin and the API docs,
and tenant hosts the landing pages of the links we send. Probed here:

- the URL map equals the schema: every operation under /api/ of both URL maps is in the
  served OpenAPI document and every documented operation is served, except the schema and
  its viewers (listed, with why);
- each documented path is served on exactly one kind of host and is a 404 on the other;
- no unversioned or other-version API routes, no browsable API root;
- every route outside /api/ is accounted for: the OAuth2 endpoints are the ones its metadata
  advertises (plus the sign-in pages consent needs), the admin, the landing pages.
"""

import json
from typing import Any

import pytest

from tests.support.owasp import Route, World, api_client, operations, routes

pytestmark = pytest.mark.django_db

# Served under /api/ but not part of the API they describe (Route.is_docs): the OpenAPI
# document and its viewers (Swagger UI, its OAuth2 redirect page, ReDoc).
# Top-level path segments outside /api/, per host, and why each is there.
OTHER_ROUTES = {
    "public": {
        "o": "the OAuth2 provider (authorize, token, revoke, introspect, metadata, sign-in)",
        "admin": "the operator admin (staff sign-in)",
    },
    "tenant": {
        "invitations": "landing page of the invitation links we email",
        "reset-password": "landing page of the password reset links we email",
        "billing": "landing page Stripe Checkout and the billing portal return to",
        "sso": "landing page an SSO login ends on (/sso/complete)",
        "scim": "the SCIM 2.0 service (RFC 7644's paths; documented in the schema)",
    },
}


def _documented_here(route: Route) -> bool:
    return not route.is_docs


def _scim_operations() -> set[str]:
    """The SCIM service's (scim/v2/ on tenant hosts): outside /api/, in the schema too, but
    for its catch-all (RFC 7644's 404 for any other path) and the 501 of POST .../.search:
    answers to what is not offered, no operations of their own."""
    return {
        f"{method} {route.path}"
        for route in routes("tenant")
        if route.pattern.startswith("scim/")
        and route.name != "scim-unknown"
        and not str(route.name).startswith("scim-search-unsupported")
        for method in route.methods
    }


def _served() -> set[str]:
    return {
        f"{method} {route.path}"
        for host in ("public", "tenant")
        for method, route in operations(host)
        if _documented_here(route)
    } | _scim_operations()


@pytest.fixture(scope="module")
def served_schema(django_db_setup: None, django_db_blocker: Any) -> dict[str, Any]:
    """The document a client downloads from the public host."""
    with django_db_blocker.unblock():
        response = api_client("localhost").get("/api/schema/?format=json")
    assert response.status_code == 200
    return dict(json.loads(response.content))


def _documented(schema: dict[str, Any]) -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }


def test_the_url_map_equals_the_schema(served_schema: dict[str, Any]) -> None:
    served, documented = _served(), _documented(served_schema)
    assert {"undocumented": served - documented, "not served": documented - served} == {
        "undocumented": set(),
        "not served": set(),
    }


def test_only_the_docs_are_left_out(served_schema: dict[str, Any]) -> None:
    left_out = {
        route.path
        for host in ("public", "tenant")
        for route in routes(host)
        if route.is_api and not _documented_here(route)
    }
    assert left_out, "the docs routes are found (the exemption is not vacuous)"
    assert all(path.startswith(("/api/schema/", "/api/docs/", "/api/redoc/")) for path in left_out)
    assert not left_out & set(served_schema["paths"])


def test_each_documented_path_lives_on_one_kind_of_host(world: World) -> None:
    public = {route.path for route in routes("public") if route.is_api and _documented_here(route)}
    tenant = {route.path for route in routes("tenant") if route.is_api}
    assert not public & tenant
    ids = {**world.acme.ids()}
    for path in public:
        assert api_client(world.acme.host).get(path).status_code == 404, path
    for path in tenant:
        concrete = path.format(**ids)
        assert api_client("localhost").get(concrete).status_code == 404, concrete


@pytest.mark.parametrize("host", ["public", "tenant"])
def test_every_api_route_is_versioned(host: str) -> None:
    unversioned = [
        route.pattern
        for route in routes(host)
        if route.is_api and _documented_here(route) and not route.pattern.startswith("api/v1/")
    ]
    assert unversioned == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/",
        "/api/v1/",
        "/api/v0/projects/",
        "/api/v2/projects/",
        "/api/projects/",
        "/api/v1/projects.json",
        "/api/v1/plans.json",
        "/api/v1/debug/",
        "/api/v1/admin/",
        "/api/v1/users/",
        "/api/v1/tenants/",
    ],
)
def test_no_other_version_or_root_is_served(world: World, path: str) -> None:
    for host in ("localhost", world.acme.host):
        response = api_client(host).get(path)
        assert response.status_code == 404, (host, path, response.status_code)
        assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("host", ["public", "tenant"])
def test_every_route_outside_the_api_is_accounted_for(host: str) -> None:
    segments = {route.pattern.split("/", 1)[0] for route in routes(host) if not route.is_api}
    assert segments == set(OTHER_ROUTES[host])


def test_the_oauth2_routes_are_the_advertised_ones(world: World) -> None:
    metadata = api_client("localhost").get("/o/.well-known/oauth-authorization-server").json()
    advertised = {
        value.split("localhost", 1)[1]
        for key, value in metadata.items()
        if key.endswith("_endpoint")
    }
    served = {route.path for route in routes("public") if route.pattern.startswith("o/")}
    # Consent needs a signed-in person: the sign-in and sign-out pages; and the metadata
    # document itself.
    pages = {"/o/login/", "/o/logout/", "/o/.well-known/oauth-authorization-server"}
    assert served == advertised | pages
    assert metadata["grant_types_supported"] == [
        "authorization_code",
        "client_credentials",
        "refresh_token",
    ]
    assert metadata["code_challenge_methods_supported"] == ["S256"]


def test_the_schema_names_its_version_and_hosts(served_schema: dict[str, Any]) -> None:
    assert served_schema["openapi"].startswith("3.")
    assert served_schema["info"]["version"]
    urls = [server["url"] for server in served_schema["servers"]]
    assert urls == ["http://localhost", "http://{tenant}.localhost"]
    flows = served_schema["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"].endswith("/o/token/")
