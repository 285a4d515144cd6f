"""Host names as an organization types them, normalized and checked: what may become a custom
domain, and what never may (addresses, single labels, localhost, the platform's own names)."""

import ipaddress
import re

import idna
from django.conf import settings

from saas.errors import InvalidInput

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_MAX_LENGTH = 253


def _refuse(message: str, code: str = "invalid_hostname") -> InvalidInput:
    return InvalidInput(message, code=code, extra={"fields": {"hostname": [message]}})


def hostname_normalize(value: str) -> str:
    """`App.Customer.COM.` -> `app.customer.com`; `bücher.example` -> `xn--bcher-kva.example`.
    Raises InvalidInput (code invalid_hostname) for anything that is not a DNS host name."""
    name = value.strip()
    if not name:
        raise _refuse("Give a host name, such as app.example.com.")
    if any(part in name for part in ("/", "@", "?", "#", " ")) or "://" in name:
        raise _refuse("Give a host name only, without a scheme, path or credentials.")
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        pass
    else:
        raise _refuse("An IP address cannot be a custom domain; give a host name.")
    if ":" in name:
        raise _refuse("Give the host name without a port.")
    if name.endswith("."):
        name = name[:-1]  # the root's dot: app.example.com. is app.example.com
    try:
        # UTS 46 mapping first (case folding, full-width dots), then IDNA 2008.
        name = idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise _refuse("This is not a valid host name.") from exc
    labels = name.split(".")
    if len(name) > _MAX_LENGTH or not all(_LABEL.match(label) for label in labels):
        raise _refuse("This is not a valid host name.")
    if len(labels) < 2:
        raise _refuse("Give a fully qualified host name, such as app.example.com.")
    if labels[-1].isdigit():
        raise _refuse("This is not a valid host name.")
    return name


def hostname_validate(value: str) -> str:
    """hostname_normalize, then refuses the names only this platform may use: localhost, the
    public host (BASE_DOMAIN, PUBLIC_HOSTS) and every name under BASE_DOMAIN (the
    organizations' own hosts)."""
    name = hostname_normalize(value)
    if name == "localhost" or name.endswith(".localhost"):
        raise _refuse("localhost cannot be a custom domain.", code="hostname_reserved")
    base = settings.BASE_DOMAIN
    public = {base, *getattr(settings, "PUBLIC_HOSTS", ())}
    if name in public or name.endswith("." + base):
        raise _refuse(
            f"{name} belongs to this platform; add a domain of your own.", code="hostname_reserved"
        )
    return name
