"""OAuth2 provider (django-oauth-toolkit) on the public host under /o/: authorization code
with PKCE (S256 only) for third-party apps, client credentials for machine clients. The
application model belongs to one tenant (accounts.models); tokens are stored hashed."""

from .base import BASE_DOMAIN
from .env import IS_DEV_OR_TEST, env

OAUTH2_PROVIDER_APPLICATION_MODEL = "accounts.OAuthApplication"

# Where clients reach the public host's /o/ endpoints (named in the OpenAPI document).
OAUTH_PUBLIC_URL = env.str("OAUTH_PUBLIC_URL", default=f"http://{BASE_DOMAIN}:8000").rstrip("/")

# Browsers log in on the public host with this page before /o/authorize/ can ask for consent.
LOGIN_URL = "/o/login/"

OAUTH2_PROVIDER = {
    "OAUTH2_VALIDATOR_CLASS": "accounts.oauth.validators.TenantOAuth2Validator",
    # read, write, billing, admin: names, descriptions and the capabilities each stands for.
    "SCOPES_BACKEND_CLASS": "accounts.scopes.TenantScopes",
    # Look or delete (through the service, audited); registering is the organization's.
    "APPLICATION_ADMIN_CLASS": "accounts.oauth.admin.OAuthApplicationAdmin",
    "PKCE_REQUIRED": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_ACCESS_TOKEN_SECONDS", default=3600),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_REFRESH_TOKEN_SECONDS", default=14 * 86400),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,  # a replayed refresh token revokes its family
    "REQUEST_APPROVAL_PROMPT": "force",  # always show the consent page
    # Loopback http redirects are for local development (and the tests); production
    # clients register https redirect URIs.
    "ALLOWED_REDIRECT_URI_SCHEMES": env.list(
        "OAUTH_REDIRECT_URI_SCHEMES", default=["http", "https"] if IS_DEV_OR_TEST else ["https"]
    ),
    # RFC 9700 (OAuth 2.0 security BCP): no implicit or password grant, no plain PKCE, no
    # tokens in query strings, tokens stored only as SHA-256 checksums.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    # RFC 9207: authorization responses name their issuer (the metadata's), against mix-up.
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "client_credentials", "refresh_token"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
}
