"""The default plans (free, starter, pro, scale), so every database can sign tenants up.
Operators edit them in the admin afterwards; `billing_seed_catalog` re-applies the defaults."""

from django.db import migrations

from billing.services.catalog import DEFAULT_PLANS


def seed(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    Price = apps.get_model("billing", "Price")
    for order, spec in enumerate(DEFAULT_PLANS):
        fields = {k: v for k, v in spec.items() if k not in ("code", "prices")}
        plan, _ = Plan.objects.get_or_create(
            code=spec["code"], defaults={**fields, "sort_order": order}
        )
        for price in spec["prices"]:
            values = {k: v for k, v in price.items() if k != "lookup_key"}
            Price.objects.get_or_create(
                lookup_key=price["lookup_key"], defaults={"plan": plan, "currency": "usd", **values}
            )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
