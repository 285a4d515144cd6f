"""Move an organization through simulated time (Stripe test mode or the offline emulator).

    manage.py billing_test_clock acme                    # show its clock
    manage.py billing_test_clock acme --days 31          # advance 31 days
    manage.py billing_test_clock acme --to 2027-01-15    # advance to a date (UTC)
    manage.py billing_test_clock acme --days 10 --dunning  # then run dunning at clock time

The organization must have signed up with BILLING_TEST_CLOCKS=true (its Stripe customer is
made on a clock of its own). Stripe's webhooks follow as for real renewals and retries.
"""

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.management.moments import moment_parse
from billing.services.clocks import clock_advance, clock_dunning, clock_get
from saas.errors import ApplicationError
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Show or advance an organization's Stripe test clock (test mode only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        when = parser.add_mutually_exclusive_group()
        when.add_argument("--days", type=float, help="advance by this many days")
        when.add_argument("--to", help="advance to this ISO date/datetime (UTC) or unix time")
        parser.add_argument(
            "--dunning", action="store_true", help="then run dunning at the clock's time"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["slug"]).first()
        if tenant is None:
            raise CommandError(f"No organization {options['slug']!r}.")
        try:
            if options["days"] is not None or options["to"]:
                to = moment_parse(options["to"]) if options["to"] else None
                clock = clock_advance(tenant=tenant, to=to, days=options["days"] or 0)
            else:
                clock = clock_get(tenant=tenant)
            escalated = clock_dunning(tenant=tenant) if options["dunning"] else 0
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        at = datetime.fromtimestamp(clock.frozen_time, tz=UTC).isoformat()
        self.stdout.write(f"{tenant.slug}: clock {clock.id} at {at} ({clock.status})")
        if options["dunning"]:
            self.stdout.write(f"dunning: {escalated} organization(s) became read-only")
