"""What makes a slug acceptable as a subdomain and a schema name."""

import re

from django.conf import settings

from saas.errors import InvalidInput

# DNS label, lower case, 3-40 characters, no leading/trailing or double hyphen. Also the
# signup schema's pattern (tenants.apis), so clients know it before they ask.
SLUG_PATTERN = r"^(?!.*--)[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$"


def slug_validate(slug: str) -> str:
    if not re.fullmatch(SLUG_PATTERN, slug):
        raise InvalidInput(
            "Slug must be 3-40 lower-case letters, digits or single hyphens, "
            "starting and ending with a letter or digit.",
            code="invalid_slug",
            extra={"fields": {"slug": ["Not a valid subdomain."]}},
        )
    if slug in settings.TENANT_RESERVED_SLUGS:
        raise InvalidInput(
            f"The slug {slug!r} is reserved.",
            code="slug_reserved",
            extra={"fields": {"slug": ["Reserved."]}},
        )
    return slug


def schema_name_for(slug: str) -> str:
    # Slugs have no underscores, so this mapping cannot collide.
    return "t_" + slug.replace("-", "_")
