"""django-tenants' tenant commands that would write around our services, refused.

Each keeps the arguments of the command it replaces, so it is refused the same way however
it is called (command line, call_command, tenant_command or all_tenants_command), before it
touches anything, with one line that names what to use instead.
"""

from typing import Any

from django.core.management.base import CommandError


def refusal(command: str, why: str, instead: str) -> str:
    return f"{command} is disabled here: {why}; use {instead}"


class RefusedMixin:
    """Put first in the bases, before the django-tenants command whose arguments it keeps."""

    refused_because = ""
    use_instead = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = f"Disabled: {self.refused_because}. Use {self.use_instead}."

    def handle(self, *args: Any, **options: Any) -> None:
        name = type(self).__module__.rsplit(".", 1)[-1]
        raise CommandError(refusal(name, self.refused_because, self.use_instead))
