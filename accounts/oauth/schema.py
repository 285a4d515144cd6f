"""OpenAPI: the `oauth2` security scheme (authorization code with PKCE, client credentials)
and, per operation, which scopes reach it. Its endpoints are paths on the public host here:
api.origins.oauth_urls_postprocess puts them on the origin the docs were loaded from."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from ..scopes import SCOPE_CAPABILITIES, SCOPES


class TenantOAuth2Scheme(OpenApiAuthenticationExtension):
    target_class = "accounts.oauth.authentication.TenantOAuth2Authentication"
    name = "oauth2"
    priority = 1  # over drf-spectacular's own scheme for DOT's OAuth2Authentication

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        base = "/o"  # config.urls_public
        return {
            "type": "oauth2",
            "description": "Access token from the public host's /o/token/, issued to an "
            "application of the organization (registered at /api/v1/oauth/applications/); "
            "valid on that organization's host only. It acts with the role its user holds "
            "now, narrowed by its scopes. Authorization code requires PKCE (S256).",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": f"{base}/authorize/",
                    "tokenUrl": f"{base}/token/",
                    "refreshUrl": f"{base}/token/",
                    "scopes": SCOPES,
                },
                "clientCredentials": {"tokenUrl": f"{base}/token/", "scopes": SCOPES},
            },
        }

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[str]]]:
        """Any one scope that carries the capability the operation needs."""
        needed = getattr(auto_schema.view, "capabilities", {}).get(auto_schema.method)
        if needed is None:
            return [{self.name: []}]
        return [{self.name: [name]} for name, caps in SCOPE_CAPABILITIES.items() if needed in caps]
