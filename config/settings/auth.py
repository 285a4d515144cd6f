"""Identity: tenant-bound JWTs (simplejwt), dj-rest-auth endpoints, allauth email login,
email delivery and throttle rates."""

from datetime import timedelta

from .api import REST_FRAMEWORK
from .base import JWT_SIGNING_KEY
from .env import IS_DEV_OR_TEST, env

AUTHENTICATION_BACKENDS = [
    # Email + password (allauth), with Django's backend for the admin.
    "allauth.account.auth_backends.AuthenticationBackend",
    "django.contrib.auth.backends.ModelBackend",
]
SITE_ID = 1

# What API keys start with (accounts.apikeys): live keys only where the data is real.
API_KEY_PREFIX = "sk_test_" if IS_DEV_OR_TEST else "sk_live_"

SIMPLE_JWT = {
    "ALGORITHM": "HS256",  # pinned: tokens signed any other way (or with "none") are refused
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_CLAIM": "sub",
    "USER_ID_FIELD": "id",
    "TOKEN_REFRESH_SERIALIZER": "accounts.serializers.TenantTokenRefreshSerializer",
    "LEEWAY": 0,
}

REST_AUTH = {
    "USE_JWT": True,
    "JWT_AUTH_HTTPONLY": False,  # refresh token in the body: the API serves non-browser clients
    "JWT_AUTH_RETURN_EXPIRATION": True,
    "SESSION_LOGIN": False,
    "LOGIN_SERIALIZER": "accounts.serializers.LoginSerializer",
    "USER_DETAILS_SERIALIZER": "accounts.serializers.UserDetailsSerializer",
    "PASSWORD_RESET_SERIALIZER": "accounts.serializers.PasswordResetSerializer",
    "PASSWORD_CHANGE_SERIALIZER": "accounts.serializers.PasswordChangeSerializer",
    "PASSWORD_RESET_CONFIRM_SERIALIZER": "accounts.serializers.PasswordResetConfirmSerializer",
    "TOKEN_MODEL": None,
}

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_RATE_LIMITS = False  # DRF throttles in Redis do this for the API (api.throttling)

PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_SECONDS", default=3600)
INVITATION_TTL_HOURS = env.int("INVITATION_TTL_HOURS", default=72)
# Where emailed links send people; {host} is the tenant host as called (with any port).
# By default the built-in landing pages (saas.pages) answer them on the tenant host; point
# this at your own front end to serve /invitations/<token> and
# /reset-password/<uid>/<token> yourself (README, "Landing pages").
FRONTEND_URL = env.str("FRONTEND_URL", default="http://{host}")

_email = env.email_url("EMAIL_URL", default="smtp://127.0.0.1:1025")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="SaaS <no-reply@localhost>")

THROTTLE_RATES = {
    "login_ip": env.str("THROTTLE_LOGIN_IP", default="20/min"),
    "login_account": env.str("THROTTLE_LOGIN_ACCOUNT", default="5/min"),
    "password_reset_ip": env.str("THROTTLE_PASSWORD_RESET_IP", default="10/hour"),
    "password_reset_account": env.str("THROTTLE_PASSWORD_RESET_ACCOUNT", default="3/hour"),
    "invitations_ip": env.str("THROTTLE_INVITATIONS_IP", default="60/hour"),
    "invitations_account": env.str("THROTTLE_INVITATIONS_ACCOUNT", default="30/hour"),
    # Each signup is a schema, a billing account and a Stripe customer: per client IP, and per
    # domain of the owner's email whichever client sends it (README, "Security").
    "signup_ip": env.str("THROTTLE_SIGNUP_IP", default="10/hour"),
    "signup_domain": env.str("THROTTLE_SIGNUP_DOMAIN", default="20/hour"),
}
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = THROTTLE_RATES
# Not counted per domain (the per-IP rate still applies): millions of people share these, so
# one budget for all of them would let anyone shut each of them out of signup for an hour.
THROTTLE_SIGNUP_DOMAIN_EXEMPT = frozenset(
    domain.strip().lower()
    for domain in env.list(
        "THROTTLE_SIGNUP_DOMAIN_EXEMPT",
        default=[
            "gmail.com",
            "googlemail.com",
            "outlook.com",
            "hotmail.com",
            "live.com",
            "msn.com",
            "yahoo.com",
            "icloud.com",
            "me.com",
            "aol.com",
            "proton.me",
            "protonmail.com",
            "gmx.com",
            "gmx.de",
            "web.de",
            "mail.com",
            "yandex.com",
            "yandex.ru",
            "mail.ru",
            "qq.com",
            "163.com",
        ],
    )
    if domain.strip()
)
# Bot defence for production (CAPTCHA, Turnstile, proof of work): the dotted path of a
# callable that gets each signup request and returns True to let it through (anything else
# is 403 challenge_failed; it may raise a saas.errors error of its own). Empty: no challenge.
# Contract and an example: tenants/challenge.py and README, "Security".
SIGNUP_CHALLENGE_VERIFIER = env.str("SIGNUP_CHALLENGE_VERIFIER", default="")

# ---- MFA on the API login (accounts.mfa, on allauth.mfa) ------------------------------------
MFA_ADAPTER = "accounts.mfa.adapter.MfaAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
# WebAuthn (security keys, passkeys): the browser asks for user verification (a PIN or a
# fingerprint) where the key can do it; a passkey enrollment requires it. The relying party
# is the tenant host the browser is on, and the origin must be that host exactly
# (accounts.mfa.webauthn); allauth's "insecure origin" escape hatch stays off.
MFA_WEBAUTHN_USER_VERIFICATION = "preferred"
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = False
# A pending WebAuthn enrollment (options, then the browser's attestation) waits this long.
MFA_WEBAUTHN_REGISTRATION_SECONDS = 300
MFA_WEBAUTHN_MAX_KEYS = 10
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="SaaS")
# One period either side for clock drift: a replay is refused anyway (accounts.mfa.services
# keeps the last accepted time step of each authenticator).
MFA_TOTP_TOLERANCE = 1
# Fernet keys (comma-separated, the first encrypts; older ones still decrypt) for the TOTP
# seeds and recovery-code seeds at rest. Unset: one derived from SECRET_KEY, so set it
# before rotating SECRET_KEY.
MFA_ENCRYPTION_KEYS = env.list("MFA_ENCRYPTION_KEYS", default=[])
# The login's second step: how long its challenge lives, how many wrong codes it takes, and
# how many wrong codes an account gets per window across all of its challenges.
MFA_CHALLENGE_SECONDS = env.int("MFA_CHALLENGE_SECONDS", default=300)
MFA_CHALLENGE_MAX_FAILURES = env.int("MFA_CHALLENGE_MAX_FAILURES", default=5)
MFA_ACCOUNT_MAX_FAILURES = env.int("MFA_ACCOUNT_MAX_FAILURES", default=10)
MFA_ACCOUNT_FAILURE_WINDOW_SECONDS = env.int("MFA_ACCOUNT_FAILURE_WINDOW_SECONDS", default=900)
# A pending TOTP enrollment (begin, then confirm with a code) waits this long.
MFA_TOTP_SETUP_SECONDS = 600
THROTTLE_RATES["login_mfa_ip"] = env.str("THROTTLE_LOGIN_MFA_IP", default="30/min")

# Single sign-on (accounts.sso). The key that encrypts each connection's client secret at
# rest; empty derives one from SECRET_KEY (set it to rotate SECRET_KEY without losing them).
SSO_ENCRYPTION_KEY = env.str("SSO_ENCRYPTION_KEY", default="")
# Identity providers on private, loopback or link-local addresses, and over plain http: only
# in dev and test (a provider on loopback), never where an owner could aim us at the network.
SSO_ALLOW_PRIVATE_NETWORKS = env.bool("SSO_ALLOW_PRIVATE_NETWORKS", default=IS_DEV_OR_TEST)
# Connect and read timeouts (seconds) of every call to an identity provider.
SSO_HTTP_TIMEOUT = (
    env.float("SSO_HTTP_CONNECT_TIMEOUT", default=3.0),
    env.float("SSO_HTTP_READ_TIMEOUT", default=5.0),
)
# How long a login may take at the provider, and how long the one-time code that hands the
# tokens to the front end lives.
SSO_LOGIN_TTL_SECONDS = env.int("SSO_LOGIN_TTL_SECONDS", default=600)
SSO_CODE_TTL_SECONDS = env.int("SSO_CODE_TTL_SECONDS", default=60)
