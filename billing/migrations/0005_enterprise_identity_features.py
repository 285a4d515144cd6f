"""Plans that sell SSO also include SCIM provisioning and custom domains (the default
catalog's Pro and Scale): databases seeded before these features existed get them too."""

from django.db import migrations

ADDED = ("scim", "custom_domains")


def add(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for plan in Plan.objects.all():
        if "sso" in plan.features:
            plan.features = [*plan.features, *(f for f in ADDED if f not in plan.features)]
            plan.save(update_fields=["features"])


def remove(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for plan in Plan.objects.all():
        plan.features = [f for f in plan.features if f not in ADDED]
        plan.save(update_fields=["features"])


class Migration(migrations.Migration):
    dependencies = [("billing", "0004_webhook_event_id_no_like_index")]

    operations = [migrations.RunPython(add, remove)]
