"""Refresh JWTs recorded before accounts.tokens.TenantRefreshToken were kept in clear in
simplejwt's OutstandingToken.token: blank them (revocation uses the jti)."""

from django.db import migrations


def blank_token_text(apps, schema_editor):
    outstanding = apps.get_model("token_blacklist", "OutstandingToken")
    outstanding.objects.exclude(token="").update(token="")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_oauthapplication"),
        ("token_blacklist", "0013_alter_blacklistedtoken_options_and_more"),
    ]

    operations = [migrations.RunPython(blank_token_text, migrations.RunPython.noop)]
