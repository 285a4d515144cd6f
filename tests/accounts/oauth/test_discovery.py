"""What clients and developers read: the server metadata and the OpenAPI description."""

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from tests.support.oauth import PUBLIC

pytestmark = pytest.mark.usefixtures("signup_plan_includes_api")


def test_server_metadata_names_our_endpoints_and_grants(db) -> None:
    response = Client(HTTP_HOST=PUBLIC).get("/o/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    metadata = response.json()
    assert metadata["authorization_endpoint"].endswith("/o/authorize/")
    assert metadata["token_endpoint"].endswith("/o/token/")
    assert metadata["revocation_endpoint"].endswith("/o/revoke_token/")
    assert metadata["introspection_endpoint"].endswith("/o/introspect/")
    assert set(metadata["grant_types_supported"]) == {
        "authorization_code",
        "client_credentials",
        "refresh_token",
    }
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert set(metadata["scopes_supported"]) == {"read", "write", "billing", "admin"}


def test_dot_pages_we_do_not_offer_are_not_routed(db) -> None:
    client = Client(HTTP_HOST=PUBLIC)
    for path in ("/o/applications/", "/o/authorized_tokens/", "/o/userinfo/", "/o/device/"):
        assert client.get(path).status_code == 404, path


def test_openapi_declares_the_oauth2_flows_and_scopes_per_operation() -> None:
    schema = SchemaGenerator(urlconf="config.urls").get_schema(request=None, public=True)
    scheme = schema["components"]["securitySchemes"]["oauth2"]
    assert scheme["type"] == "oauth2"
    flows = scheme["flows"]
    assert set(flows) == {"authorizationCode", "clientCredentials"}
    assert flows["authorizationCode"]["authorizationUrl"].endswith("/o/authorize/")
    assert set(flows["clientCredentials"]["scopes"]) == {"read", "write", "billing", "admin"}

    apps = schema["paths"]["/api/v1/oauth/applications/"]
    assert {"oauth2": ["admin"]} in apps["post"]["security"]
    assert set(apps["post"]["responses"]) >= {"201", "400", "401", "403"}
    projects = schema["paths"]["/api/v1/projects/"]
    assert {"oauth2": ["read"]} in projects["get"]["security"]
    assert {"oauth2": ["write"]} in projects["post"]["security"]
    detail = schema["paths"]["/api/v1/oauth/applications/{application_id}/"]
    assert set(detail) >= {"get", "patch", "delete"}
