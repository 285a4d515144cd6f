"""REST framework, OpenAPI and CORS."""

from .env import env

# Where the API's routes are (JSON for bearer-token callers, on every host). Requests under
# them skip the HTML side's middlewares (api.middleware.ApiBypassMiddleware); /api/docs/,
# /api/redoc/ and /api/schema/ are pages and a download, not the API.
# The SCIM service (/scim/v2/, accounts.scim) is bearer-token JSON too.
API_PATH_PREFIXES = ["/api/v1/", "/scim/v2/"]
API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=20)
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=100)
# Request bodies nested deeper than this are refused (400 malformed_request), see api.parsers.
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=32)
# Where the API's users write to: the docs' contact (OpenAPI info.contact). Set it in
# production; unset, the contact is a name only.
API_CONTACT_EMAIL = env.str("API_CONTACT_EMAIL", default="")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TenantJWTAuthentication",
        # Before OAuth2, which refuses every bearer value that is not its token.
        "accounts.apikeys.authentication.ApiKeyAuthentication",
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
        '`{"error": {"code", "message", "fields"?, "request_id"}}`. Any operation may '
        "also answer, before it is reached: 414 `uri_too_long` (method, path and query over "
        "4094 bytes), 431 `headers_too_large` (over 100 headers or one over 8190 bytes) and "
        "400 `malformed_request` (not a well-formed HTTP request)."
    ),
    "VERSION": "1.0.0",
    "CONTACT": {
        "name": "API support",
        **({"email": API_CONTACT_EMAIL} if API_CONTACT_EMAIL else {}),
    },
    # Every tag an operation uses, in the order the docs show them (tests/api/test_schema_lint).
    "TAGS": [
        {
            "name": "signup",
            "description": "Create an organization (public host): its own host "
            "`<slug>.<BASE_DOMAIN>`, its owner and its billing account.",
        },
        {
            "name": "auth",
            "description": "Log in on an organization's host for a JWT pair that works there "
            "only; refresh and log out; the caller's profile and password (change it, or reset "
            "it by email).",
        },
        {
            "name": "organization",
            "description": "The organization's settings: name, status and the browser origins "
            "(CORS) allowed to call its host.",
        },
        {
            "name": "members",
            "description": "Who belongs to the organization, with which role (owner, admin, "
            "billing, member, viewer); role changes, removal, leaving, ownership transfer.",
        },
        {
            "name": "invitations",
            "description": "Single-use links, sent by email, that add a person with a role.",
        },
        {
            "name": "projects",
            "description": "The organization's projects: filters, ordering, archiving, and "
            "ETags for conditional reads and writes.",
        },
        {
            "name": "tasks",
            "description": "A project's tasks (assignee, status, priority, due date), with "
            "cursor pagination.",
        },
        {
            "name": "billing",
            "description": "The plans (public host), the subscription through Stripe "
            "(Checkout, plan changes, cancel and resume, the customer portal), invoices, the "
            "plan's entitlements and their usage, and Stripe's webhook.",
        },
        {
            "name": "oauth applications",
            "description": "OAuth2 clients of the organization, registered by its admins: "
            "authorization code with PKCE, or client credentials; their tokens work on this "
            "organization's host only.",
        },
        {
            "name": "audit",
            "description": "The organization's audit log: who changed what, when, from where.",
        },
        {
            "name": "custom domains",
            "description": "The organization's own host names (app.example.com), verified by a "
            "DNS TXT record or an HTTP token before they route to it; and the question an "
            "on-demand TLS front asks on the public host before getting a certificate.",
        },
        {
            "name": "sso",
            "description": "Single sign-on through the organization's OpenID Connect provider: "
            "its connection (issuer, client, email domains, optional or enforced policy, the "
            "role of people who join by signing in), and the login, which ends with the same "
            "JWT pair as a password login.",
        },
        {
            "name": "api keys",
            "description": "Bearer keys (`sk_live_...`) for scripts and servers, acting as the "
            "member who made them, narrowed by OAuth2's scope names; shown once, rotatable, "
            "revocable.",
        },
        {
            "name": "scim tokens",
            "description": "Bearer tokens for the organization's identity provider to call "
            "the SCIM service with; each is shown once, when it is made.",
        },
        {
            "name": "scim",
            "description": "SCIM 2.0 provisioning (RFC 7644) at /scim/v2/ on the "
            "organization's host: its identity provider creates, updates, deactivates and "
            "removes members, and sets roles through one group per role. Authenticated by a "
            "SCIM token only; bodies are application/scim+json, and errors have RFC 7644's "
            "shape, not the API's.",
        },
        {
            "name": "webhooks",
            "description": "Outbound webhooks: the organization's endpoints that get its "
            "events (Standard Webhooks: signed, retried for about 3 days), their delivery log, "
            "replays, test events and secret rotation. The events' bodies are in this "
            "document's `webhooks` section.",
        },
    ],
    # Outbound webhooks' bodies, one per event type (saas/webhooks_out/openapi.py).
    "WEBHOOKS": [
        f"saas.webhooks_out.openapi.{name}"
        for name in (
            "project_created",
            "project_updated",
            "project_deleted",
            "task_created",
            "task_updated",
            "task_deleted",
            "member_added",
            "member_removed",
            "member_role_changed",
            "subscription_created",
            "subscription_updated",
            "subscription_canceled",
            "invoice_finalized",
            "invoice_paid",
            "invoice_payment_failed",
            "webhook_test",
        )
    ],
    # No SERVERS: api.origins.servers_postprocess (POSTPROCESSING_HOOKS) names the hosts.
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI's OAuth2 "Authorize": PKCE, which /o/authorize/ requires.
    "SWAGGER_UI_OAUTH2_CONFIG": {"usePkceWithAuthorizationCodeGrant": True},
    "COMPONENT_SPLIT_REQUEST": True,
    # The API's own prefix, left out of operation ids (`auth_login`); without it the prefix
    # would be what every path shares, "/" since the SCIM service's /scim/v2/ is documented.
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # Docstrings are for developers: what readers see is extend_schema's description=.
    "DISABLE_DOCSTRING_DESCRIPTIONS": True,
    # saas/workspace/urls.py's ids: integers to clients, as the ids in the bodies are.
    "PATH_CONVERTER_OVERRIDES": {
        "rowid": {"type": "integer", "format": "int64", "minimum": 0, "maximum": 10**18 - 1}
    },
    # Names that read well in generated clients (api/openapi.py; `make sdk`).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.openapi.client_names_postprocess",
        # `servers`: the public and the tenant hosts, on the scheme and port asked on; the
        # OAuth2 endpoints on the public host there too.
        "api.origins.servers_postprocess",
        "api.origins.oauth_urls_postprocess",
    ],
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "accounts.models.Role",
        "AssignableRoleEnum": "accounts.roles.ASSIGNABLE_ROLE_CHOICES",
        # Two choice sets are called status: the task's keeps the name it had alone.
        "StatusEnum": "saas.workspace.models.TaskStatus",
        "CustomDomainStatusEnum": "tenants.domains.models.DomainStatus",
        "WebhookDeliveryStatusEnum": "saas.webhooks_out.models.DeliveryStatus",
        "WebhookReplayStatusEnum": "saas.webhooks_out.models.REPLAYABLE_STATUSES",
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
