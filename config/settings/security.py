"""HTTPS, HSTS, cookies, browser protections and the HTML pages' Content-Security-Policy.

`DJANGO_ENV=production ... manage.py check --deploy` is clean with these defaults.
"""

from .env import IS_DEV_OR_TEST, env

# Behind a TLS-terminating proxy (nginx sets X-Forwarded-Proto; see SECURE_PROXY_SSL_HEADER).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not IS_DEV_OR_TEST)
# Probes and scrapes come over plain http from inside the network (paths without the "/").
# So does the TLS front's certificate question (ops/caddy/Caddyfile): no certificate yet.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$", r"^api/v1/tls/ask/$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if IS_DEV_OR_TEST else 31536000)
# Every subdomain is a tenant host served by us, over https.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preloading is a commitment made to the browsers' list for the whole domain: the operator's
# choice, not a default. Django's deploy check warns about it otherwise (W021), so say so.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not IS_DEV_OR_TEST)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not IS_DEV_OR_TEST)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Pages that get saas.security's Content-Security-Policy (Swagger UI, ReDoc).
CSP_DOCS_PATHS = ["/api/docs/", "/api/redoc/"]
# Of those, the pages that call the API from the browser (Swagger UI's "Try it out"): their
# connect-src also allows the tenant hosts (saas.security).
CSP_TRY_IT_OUT_PATHS = ["/api/docs/"]
# Of those, the pages that start a web worker from a blob: URL (ReDoc's search).
CSP_WORKER_PATHS = ["/api/redoc/"]
# The other server-rendered pages (OAuth2 sign-in and consent, the operator admin): their
# HTML answers get saas.security's page policy. The landing pages set their own (saas.pages).
CSP_PAGE_PATHS = ["/o/", "/admin/"]
