"""REST framework, OpenAPI and CORS."""

from .env import env

API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=20)
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=100)
# Request bodies nested deeper than this are refused (400 malformed_request), see api.parsers.
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=32)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TenantJWTAuthentication",
        "accounts.oauth.authentication.TenantOAuth2Authentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PageNumberPagination",
    "PAGE_SIZE": API_PAGE_SIZE,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "api.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Proxies in front of us whose X-Forwarded-For entry to trust for the client IP. 0 = use
    # the socket address: trusting a client-sent header would let it dodge IP throttles.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "SaaS subscription backend API",
    "DESCRIPTION": (
        "Multi-tenant API. Public endpoints (signup, plans, webhooks) are served on the base "
        "domain; tenant endpoints on `<slug>.<BASE_DOMAIN>`. Every error has the shape "
        '`{"error": {"code", "message", "fields"?, "request_id"}}`.'
    ),
    "VERSION": "1.0.0",
    # No SERVERS: api.origins.servers_postprocess (POSTPROCESSING_HOOKS) names the hosts.
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # saas/workspace/urls.py's ids: integers to clients, as the ids in the bodies are.
    "PATH_CONVERTER_OVERRIDES": {
        "rowid": {"type": "integer", "format": "int64", "minimum": 0, "maximum": 10**18 - 1}
    },
    # Names that read well in generated clients (api/openapi.py; `make sdk`).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.openapi.client_names_postprocess",
        # `servers`: the public and the tenant hosts, on the scheme and port asked on.
        "api.origins.servers_postprocess",
    ],
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "accounts.models.Role",
        "AssignableRoleEnum": "accounts.roles.ASSIGNABLE_ROLE_CHOICES",
    },
}

# Origins allowed on the public host. Tenant hosts allow what each tenant lists
# (Tenant.cors_allowed_origins); api.cors decides per request, so corsheaders' own list stays
# empty and one tenant's origin never opens another tenant's host.
CORS_PUBLIC_ALLOWED_ORIGINS = [o.lower() for o in env.list("CORS_ALLOWED_ORIGINS", default=[])]
CORS_ALLOWED_ORIGINS: list[str] = []
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "if-match",
    "if-none-match",
    "x-request-id",
    # Swagger UI (drf-spectacular's page) adds Django's CSRF header to every write, also on
    # its calls to the tenant hosts. The API ignores it (bearer tokens, no session auth),
    # but a preflight that refused it would block "Try it out".
    "x-csrftoken",
]
CORS_EXPOSE_HEADERS = [
    "etag",
    "location",
    "retry-after",
    "idempotent-replayed",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-request-id",
]
