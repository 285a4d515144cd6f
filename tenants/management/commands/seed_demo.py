"""A demo organization for `make run`: idempotent, so every start can call it."""

import os
from typing import Any

from django.core.management.base import BaseCommand

from accounts.models import User
from tenants.selectors import tenant_get_by_slug
from tenants.services import organization_signup, tenant_domain_for

DEMO_SLUG = "demo"
DEMO_EMAIL = "demo@example.com"


class Command(BaseCommand):
    help = "Create the demo organization and its owner if they do not exist."

    def handle(self, *args: Any, **options: Any) -> None:
        if tenant_get_by_slug(slug=DEMO_SLUG) or User.objects.filter(email=DEMO_EMAIL).exists():
            self.stdout.write(f"demo organization present at {tenant_domain_for(DEMO_SLUG)}")
            return
        password = os.environ.get("DEMO_PASSWORD", "demo-password-2026")
        signup = organization_signup(
            name="Demo Inc.", slug=DEMO_SLUG, email=DEMO_EMAIL, password=password
        )
        self.stdout.write(f"created {signup.domain}, owner {DEMO_EMAIL} / {password}")
