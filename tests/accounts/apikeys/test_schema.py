"""The API key operations and their security scheme in the OpenAPI document, so Swagger UI
and generated clients know the `Bearer sk_live_...` form."""

from django.core.management import call_command
from django.test import Client

OPERATIONS = {
    ("/api/v1/api-keys/", "get"),
    ("/api/v1/api-keys/", "post"),
    ("/api/v1/api-keys/{api_key_id}/", "get"),
    ("/api/v1/api-keys/{api_key_id}/", "patch"),
    ("/api/v1/api-keys/{api_key_id}/", "delete"),
    ("/api/v1/api-keys/{api_key_id}/rotate/", "post"),
}


def test_the_schema_documents_the_key_operations_and_scheme(db, tmp_path) -> None:
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    schema = Client(HTTP_HOST="localhost").get("/api/schema/?format=json").json()
    scheme = schema["components"]["securitySchemes"]["apiKey"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    assert "sk_live_" in scheme["bearerFormat"]
    paths = schema["paths"]
    for path, method in OPERATIONS:
        operation = paths[path][method]
        assert operation["tags"] == ["api keys"]
    # The product's operations accept a key beside a login's JWT and an OAuth2 token.
    securities = paths["/api/v1/projects/"]["get"]["security"]
    assert {"apiKey": []} in securities
    assert {"jwtAuth": []} in securities
    created = paths["/api/v1/api-keys/"]["post"]["responses"]
    assert {"201", "402", "409"} <= set(created)
