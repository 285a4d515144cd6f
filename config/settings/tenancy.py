"""django-tenants: one PostgreSQL schema per tenant."""

from .env import env

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
# New tenant schemas are cloned from this one; `migrate_schemas` keeps it migrated.
TENANT_TEMPLATE_SCHEMA = env.str("TENANT_TEMPLATE_SCHEMA", default="_template")
# Other names the public host answers to, e.g. the service name other containers use to
# reach it (Stripe's webhooks from the emulator in docker compose). Add them to
# EXTRA_ALLOWED_HOSTS too.
PUBLIC_HOSTS = env.list("PUBLIC_HOSTS", default=[])
# Hosts each web process keeps in its host -> tenant map (tenants.resolution), the least
# recently used dropped first: bounded so a worker's memory does not grow with the number of
# tenants. A cached host is under 1 KB (a Tenant instance), so 10,000 is ~10 MB per worker;
# bench ops_scale reports the RSS and hit rate at 20,000 tenants.
TENANT_HOST_MAP_SIZE = env.int("TENANT_HOST_MAP_SIZE", default=10_000)
# SET search_path runs once per schema selected, not per cursor; tenants/postgresql_backend also
# skips it when the connection has that path already.
TENANT_LIMIT_SET_CALLS = True
TENANT_RESERVED_SLUGS = frozenset(
    env.list(
        "TENANT_RESERVED_SLUGS",
        default=[
            "www",
            "api",
            "admin",
            "public",
            "static",
            "media",
            "app",
            "mail",
            "smtp",
            "ftp",
            "auth",
            "login",
            "signup",
            "billing",
            "stripe",
            "webhooks",
            "docs",
            "status",
            "help",
            "support",
            "blog",
            "dashboard",
            "cdn",
            "assets",
            "template",
            "test",
            "dev",
            "staging",
            "prod",
            "root",
            "system",
            "internal",
            "metrics",
            "health",
        ],
    )
)
# Archived tenants are purged (schema dropped, public rows deleted) this many days later.
TENANT_PURGE_AFTER_DAYS = env.int("TENANT_PURGE_AFTER_DAYS", default=30)
