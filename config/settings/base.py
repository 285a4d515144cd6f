"""Django core: apps, middleware, database, cache, auth, static files, logging."""

from urllib.parse import unquote

from django.core.exceptions import ImproperlyConfigured

from .env import BASE_DIR, DJANGO_ENV, IS_DEV_OR_TEST, env, secret

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = secret("SECRET_KEY", dev_default="dev-insecure-secret-key-change-me-0123456789")

# Kept apart from SECRET_KEY so rotating one never invalidates the other.
JWT_SIGNING_KEY = secret(
    "JWT_SIGNING_KEY", dev_default="dev-insecure-jwt-signing-key-0123456789abcdef"
)
if len(JWT_SIGNING_KEY.encode()) < 32:
    raise ImproperlyConfigured("JWT_SIGNING_KEY must be at least 32 bytes")
if JWT_SIGNING_KEY == SECRET_KEY:
    raise ImproperlyConfigured("JWT_SIGNING_KEY must differ from SECRET_KEY")

BASE_DOMAIN = env.str("BASE_DOMAIN", default="localhost").lower()
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}", *env.list("EXTRA_ALLOWED_HOSTS", default=[])]
if IS_DEV_OR_TEST:
    ALLOWED_HOSTS += ["127.0.0.1", "testserver", ".testserver"]

SHARED_APPS = [
    "tenants",  # first: its migrate/migrate_schemas commands override django_tenants' ones
    "accounts",
    "accounts.sso",  # single sign-on: its own app label ("sso") and migrations
    "accounts.scim",  # SCIM provisioning: its own app label "scim" and migrations
    "accounts.apikeys",  # API keys: its own app label "apikeys" and migrations
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    # After the admin, so the admin's own index and app list templates win over
    # django_tenants' versions: those colour apps by request.tenant.schema_name, and the
    # operator admin lives on the public host, where request.tenant is None (no tenant;
    # tenants.middleware). Nothing of a tenant's schema is in this admin anyway.
    "django_tenants",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "oauth2_provider",
    "allauth",
    "allauth.account",
    # TOTP and recovery codes (its Authenticator model and code logic); accounts.mfa puts
    # them on the API login.
    "allauth.mfa",
    "accounts.mfa",
    # Not used, but dj-rest-auth's OpenAPI extensions import its models.
    "allauth.socialaccount",
    "dj_rest_auth",
    "django_filters",
    "corsheaders",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "saas",
    "saas.outbox",
    "saas.emails",
    "billing",
    "billing.tenant_usage",  # usage for tenants: its own label and migrations (alerts sent)
    # Verified custom domains (public: they route like tenants' own domains).
    "tenants.domains",
]
TENANT_APPS = [
    "saas.workspace",
    "billing.ledger",
    "saas.audit",
    "saas.webhooks_out",  # outbound webhooks: endpoints, events, deliveries
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

MIDDLEWARE = [
    "api.middleware.RequestIdMiddleware",
    # Outermost after the id: the access log and metrics see every answer; serves /metrics.
    "saas.observability.middleware.AccessLogMiddleware",
    "api.health.HealthCheckMiddleware",
    # Before the middleware that may answer early (413, a bad host, a suspended or read-only
    # organization), so those answers carry HSTS, nosniff and X-Frame-Options too.
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "api.middleware.BodySizeLimitMiddleware",
    # One Redis round trip for what tenant resolution, authentication and the plan's rate
    # limit would each ask Redis for (issue 14).
    "accounts.prefetch.RedisPrefetchMiddleware",
    "tenants.middleware.TenantResolutionMiddleware",
    # Every request, the API's too: browsers call the API from other origins (before
    # CommonMiddleware, so its redirects carry the CORS headers); Content-Length and
    # APPEND_SLASH's redirects; who is acting, for the audit log (it reads request.user when
    # an entry is written: DRF's on the API, the session's elsewhere).
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "saas.audit.context.AuditContextMiddleware",
    # The HTML side only (docs, OAuth2 sign-in and consent, admin, landing pages, static
    # files): API requests (API_PATH_PREFIXES) go from ApiBypassMiddleware straight to the
    # view. They authenticate with bearer tokens (no SessionAuthentication), DRF's views are
    # CSRF-exempt and set request.user themselves, and no API view reads a session, leaves a
    # message or answers with HTML (the CSP is the pages'). ApiBypassEndMiddleware stays last.
    "api.middleware.ApiBypassMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "saas.security.ContentSecurityPolicyMiddleware",
    "api.middleware.ApiBypassEndMiddleware",
]

# Every route of both hosts, for the OpenAPI schema and reverse() outside a request; the
# tenant middleware picks config.urls_public or config.urls_tenants for each request.
ROOT_URLCONF = "config.urls"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
TENANT_URLCONF = "config.urls_tenants"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database() -> dict:
    config = env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/saas")
    # django-tenants' backend, sending SET search_path only when the path changes, and
    # CONN_HEALTH_CHECKS without a SELECT 1 per request (tenants/postgresql_backend).
    config["ENGINE"] = "tenants.postgresql_backend"
    # A Unix socket directory arrives URL-encoded in the host part.
    config["HOST"] = unquote(str(config.get("HOST", "")))
    # Persistent connections: opening one per request capped DB endpoints near 300 req/s.
    config["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    config["CONN_HEALTH_CHECKS"] = True
    config.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    config["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=f"test_{config['NAME']}")}
    return config


DATABASES = {"default": _database()}
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Every Redis client (cache, throttles, Celery's broker) gives up after these: a Redis that
# hangs must not hold a request until gunicorn kills it (config/settings/timeouts.py).
REDIS_CONNECT_TIMEOUT_SECONDS = env.float("REDIS_CONNECT_TIMEOUT_SECONDS", default=1.0)
REDIS_SOCKET_TIMEOUT_SECONDS = env.float("REDIS_SOCKET_TIMEOUT_SECONDS", default=1.0)
# After a cache call times out, the process skips Redis this long (saas/redis_breaker.py), so
# a hung Redis costs one timeout, not one per call of every request.
REDIS_BREAKER_SECONDS = env.float("REDIS_BREAKER_SECONDS", default=5.0)
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default=f"saas-{DJANGO_ENV}"),
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": REDIS_CONNECT_TIMEOUT_SECONDS,
            "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT_SECONDS,
            "CONNECTION_POOL_CLASS": "saas.redis_breaker.BreakerConnectionPool",
            "CONNECTION_POOL_KWARGS": {"breaker_seconds": REDIS_BREAKER_SECONDS},
            # A Redis outage degrades caching to database reads instead of failing requests.
            "IGNORE_EXCEPTIONS": True,
        },
    }
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if DJANGO_ENV == "test":
    # Hash strength is not under test; argon2 would cost ~100 ms for every user a test makes.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# dev/test serve static files from the apps (finders) and need no collected directory.
STATIC_ROOT = None if IS_DEV_OR_TEST else BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the apps in dev/test so no collectstatic is needed there.
WHITENOISE_USE_FINDERS = IS_DEV_OR_TEST

# Bodies above this answer 413 before any view parses them.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# LOGGING: config/settings/observability.py; cookies and HTTPS: config/settings/security.py.
