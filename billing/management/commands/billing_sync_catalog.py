"""Push the plan catalog to Stripe. Idempotent: a second run changes nothing."""

from typing import Any

from django.core.management.base import BaseCommand

from billing.services.catalog import catalog_sync_to_stripe


class Command(BaseCommand):
    help = "Create or update Stripe products and prices from the plans in the database."

    def handle(self, *args: Any, **options: Any) -> None:
        report = catalog_sync_to_stripe()
        for label in ("created", "replaced", "retired", "unchanged"):
            keys = getattr(report, label)
            self.stdout.write(f"{label}: {len(keys)} {' '.join(keys)}".rstrip())
