from django.apps import AppConfig


class AccountsMfaConfig(AppConfig):
    name = "accounts.mfa"
    label = "accounts_mfa"
    verbose_name = "Multi-factor authentication"
    default_auto_field = "django.db.models.BigAutoField"
