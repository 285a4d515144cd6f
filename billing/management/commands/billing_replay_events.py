"""Process stored Stripe events again: failed ones after a fix, stuck ones, or (with
--include-finished) any event. Emails are never sent twice: they are keyed by (event, kind).

    manage.py billing_replay_events                       # every failed, pending or stuck event
    manage.py billing_replay_events --id evt_1 --id evt_2
    manage.py billing_replay_events --type invoice.paid --since 2026-11-01 --until 2026-11-02
    manage.py billing_replay_events --include-finished --id evt_1   # run a done event again
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.management.moments import moment_parse
from billing.models import EventState
from billing.webhooks.services import (
    webhook_event_enqueue,
    webhook_event_process,
    webhook_events_select,
)

UNFINISHED: list[str] = [EventState.FAILED, EventState.PENDING, EventState.PROCESSING]


class Command(BaseCommand):
    help = "Process stored Stripe events again (by id, type or time range)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--id", action="append", default=[], help="evt_... (repeatable)")
        parser.add_argument("--type", action="append", default=[], help="event type (repeatable)")
        parser.add_argument("--since", type=moment_parse, help="Stripe created >= (ISO or unix)")
        parser.add_argument("--until", type=moment_parse, help="Stripe created <= (ISO or unix)")
        parser.add_argument(
            "--include-finished", action="store_true", help="also run done and ignored events"
        )
        parser.add_argument(
            "--enqueue", action="store_true", help="queue for the workers instead of running here"
        )
        parser.add_argument("--dry-run", action="store_true", help="only list what would run")

    def handle(self, *args: Any, **options: Any) -> None:
        force = options["include_finished"]
        pks = webhook_events_select(
            ids=options["id"],
            types=options["type"],
            since=options["since"],
            until=options["until"],
            states=None if force else UNFINISHED,
        )
        self.stdout.write(f"{len(pks)} events selected")
        if options["dry_run"]:
            return
        failed = 0
        for pk in pks:
            if options["enqueue"]:
                webhook_event_enqueue(event_pk=pk)
                continue
            processed = webhook_event_process(event_pk=pk, force=force)
            failed += processed.state == EventState.FAILED
            self.stdout.write(f"event {pk}: {processed.state}")
        if failed:
            raise CommandError(f"{failed} events failed again; see last_error in the admin")
