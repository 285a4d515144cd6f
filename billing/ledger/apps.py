from django.apps import AppConfig


class LedgerConfig(AppConfig):
    """Tenant-schema billing records: the invoice mirror and API usage. Each tenant's
    rows live in its own schema, so no query can show one tenant another's invoices."""

    name = "billing.ledger"
    label = "billing_ledger"
    default_auto_field = "django.db.models.BigAutoField"
