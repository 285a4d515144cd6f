from django.apps import AppConfig


class SsoConfig(AppConfig):
    # Its own app label and migrations, beside accounts': a public-schema app (SHARED_APPS),
    # since a domain may be claimed by one organization only, across all of them.
    name = "accounts.sso"
    label = "sso"
    default_auto_field = "django.db.models.BigAutoField"
