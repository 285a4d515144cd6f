"""manage.py create_tenant --slug SLUG --name NAME --owner-email EMAIL [--owner-password PW]

Replaces django-tenants' create_tenant, which saves a tenant row and a domain one after the
other and nothing else (no schema here, where save() never makes one; no billing account, no
owner). This one goes through tenants.services: the tenant row, its domain, billing account,
cloned schema, and owner (an existing user, or a new one with the password given) in one
transaction, all or nothing, exactly as a signup.
"""

import getpass
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saas.errors import ApplicationError
from tenants.organizations import organization_create

NAME_MAX = 100  # Tenant.name


class Command(BaseCommand):
    help = (
        "Create an organization as signup does: tenant, domain <slug>.BASE_DOMAIN, billing "
        "account on the signup plan, schema, and its owner (an existing user, or a new one)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", help="the subdomain; the schema is t_<slug>")
        parser.add_argument("--name", help="the organization's name")
        parser.add_argument(
            "--owner-email", help="its owner: an existing user, or a new one (needs a password)"
        )
        parser.add_argument(
            "--owner-password",
            help="a new owner's password (asked for when omitted and run from a terminal)",
        )
        parser.add_argument(
            "--noinput", "--no-input", action="store_false", dest="interactive", help="never ask"
        )
        # django-tenants' options for what we derive from the slug: refused with a reason
        # rather than argparse's bare "unrecognized arguments".
        for option in ("--schema_name", "--domain-domain", "--domain-is_primary"):
            parser.add_argument(option, help="not used: follows the slug")

    def handle(self, *args: Any, **options: Any) -> None:
        derived = [
            name
            for name in ("schema_name", "domain_domain", "domain_is_primary")
            if options.get(name) is not None
        ]
        if derived:
            given = ", ".join("--" + name.replace("domain_", "domain-", 1) for name in derived)
            raise CommandError(
                f"{given}: the schema (t_<slug>) and domain (<slug>.BASE_DOMAIN) follow the "
                "slug here; give --slug, --name and --owner-email"
            )
        for option in ("slug", "name", "owner_email"):
            if not (options.get(option) or "").strip():
                raise CommandError(
                    f"--{option.replace('_', '-')} is required "
                    "(create_tenant --slug SLUG --name NAME --owner-email EMAIL)"
                )
        name = options["name"].strip()
        if len(name) > NAME_MAX:
            raise CommandError(f"--name is longer than {NAME_MAX} characters")
        password = options.get("owner_password") or ""
        try:
            signup = organization_create(
                name=name,
                slug=options["slug"].strip(),
                owner_email=options["owner_email"],
                owner_password=password or self._ask_password(options),
            )
        except ApplicationError as exc:
            raise CommandError(_one_line(exc)) from exc
        self.stdout.write(
            f"created {signup.domain} (schema {signup.tenant.schema_name}), "
            f"owner {signup.owner.email}"
        )

    def _ask_password(self, options: dict[str, Any]) -> str:
        """Only for a new owner, only from a terminal; otherwise the service says it is needed."""
        from accounts.models import User

        if not options["interactive"] or not sys.stdin.isatty():
            return ""
        if User.objects.filter(email__iexact=options["owner_email"].strip()).exists():
            return ""
        first = getpass.getpass(f"Password for the new owner {options['owner_email']}: ")
        if first != getpass.getpass("Again: "):
            raise CommandError("the passwords differ; nothing was created")
        return first


def _one_line(exc: ApplicationError) -> str:
    fields = exc.extra.get("fields") or {}
    details = [str(message) for messages in fields.values() for message in messages]
    reasons = [message for message in details if message not in exc.message]
    text = exc.message if not reasons else f"{exc.message.rstrip('.')}: {' '.join(reasons)}"
    return " ".join(text.split()) + " Nothing was created."
