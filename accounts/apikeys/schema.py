"""OpenAPI: the API key security scheme."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.apikeys.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "sk_live_...",
            "description": "An API key made at /api/v1/api-keys/ on the organization's host, "
            "sent as `Authorization: Bearer sk_live_...` (`sk_test_` outside production); "
            "valid on that host only. It acts as its creator, narrowed by its scopes.",
        }
