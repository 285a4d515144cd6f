"""Re-apply the default plans and prices (by code and lookup key)."""

from typing import Any

from django.core.management.base import BaseCommand

from billing.services.catalog import catalog_seed_defaults


class Command(BaseCommand):
    help = "Create or update the default plans (free, starter, pro, scale) and their prices."

    def handle(self, *args: Any, **options: Any) -> None:
        plans = catalog_seed_defaults()
        self.stdout.write(f"plans: {', '.join(plan.code for plan in plans)}")
