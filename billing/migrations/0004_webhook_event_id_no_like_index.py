"""Drop the `varchar_pattern_ops` index PostgreSQL's backend adds beside every unique
CharField: events are looked up by their exact id (the unique index), never with LIKE
'prefix%' (the admin's search is a contains, which no b-tree serves), and every ingested event
paid for keeping it (bench webhooks)."""

from django.db import migrations

INDEX = "billing_webhookevent_stripe_event_id_6e6350db_like"


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_webhook_events")]

    operations = [
        migrations.RunSQL(
            f"DROP INDEX IF EXISTS {INDEX}",
            reverse_sql=(
                f"CREATE INDEX IF NOT EXISTS {INDEX} "
                "ON billing_webhookevent (stripe_event_id varchar_pattern_ops)"
            ),
        )
    ]
