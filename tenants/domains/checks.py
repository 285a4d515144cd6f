"""The two ways to prove a host name: a DNS TXT record or a token served over HTTP. Each
answers what it found, for the API to show the organization when verification fails.

Both are network calls to places the organization controls, so each is bounded: one time limit
per check (CUSTOM_DOMAINS_CHECK_TIMEOUT), a small answer, no redirects, and the HTTP check only
connects to public addresses (outside dev and test) that it resolved itself, so a name cannot
point the check into our own network, even by answering differently the second time it is
resolved (DNS rebinding).
"""

import http.client
import ipaddress
from dataclasses import dataclass

import dns.exception
import dns.resolver
from django.conf import settings
from django.utils.crypto import constant_time_compare

from saas.pinned_http import Address, pinned_request

CHALLENGE_LABEL = "_saas-challenge"
HTTP_PATH = "/.well-known/saas-domain-verification"
# The token is 32 characters; more than this is not our token, and is not read further.
_MAX_BODY = 1024
_MAX_SHOWN = 100  # characters of a found value shown back
_USER_AGENT = "saas-domain-verification/1"


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    found: str  # what the check saw, for the organization to fix its records


def txt_record_name(hostname: str) -> str:
    return f"{CHALLENGE_LABEL}.{hostname}"


def http_url(hostname: str, path: str = HTTP_PATH) -> str:
    return f"http://{hostname}{path}"


def _shown(value: str) -> str:
    return value if len(value) <= _MAX_SHOWN else value[:_MAX_SHOWN] + "..."


def _resolver() -> dns.resolver.Resolver:
    nameservers = list(settings.CUSTOM_DOMAINS_DNS_NAMESERVERS)
    resolver = dns.resolver.Resolver(configure=not nameservers)
    if nameservers:
        resolver.nameservers = nameservers
        resolver.port = settings.CUSTOM_DOMAINS_DNS_PORT
    resolver.timeout = resolver.lifetime = settings.CUSTOM_DOMAINS_CHECK_TIMEOUT
    resolver.cache = None  # a fix to the records shows on the next check
    return resolver


def dns_txt_check(*, hostname: str, token: str) -> CheckResult:
    name = txt_record_name(hostname)
    try:
        answer = _resolver().resolve(name, "TXT", raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return CheckResult(False, f"No DNS record at {name}.")
    except dns.resolver.NoResolverConfiguration:
        return CheckResult(False, "No DNS resolver is configured.")
    except dns.exception.DNSException:
        return CheckResult(False, f"The DNS lookup of {name} failed or timed out.")
    values = [
        b"".join(record.strings).decode("utf-8", "replace")
        for record in answer.rrset or ()
        if hasattr(record, "strings")
    ]
    if any(constant_time_compare(value.strip(), token) for value in values):
        return CheckResult(True, f"TXT record at {name} holds the token.")
    if not values:
        return CheckResult(False, f"No TXT record at {name}.")
    shown = ", ".join(repr(_shown(value)) for value in values[:5])
    return CheckResult(False, f"TXT records at {name} do not hold the token: {shown}.")


def _addresses(hostname: str) -> list[Address]:
    resolver = _resolver()
    found: list[Address] = []
    for kind in ("A", "AAAA"):
        try:
            answer = resolver.resolve(hostname, kind, raise_on_no_answer=False)
        except dns.exception.DNSException:
            continue
        found += [ipaddress.ip_address(record.address) for record in answer.rrset or ()]
    return found


def _allowed(address: Address) -> bool:
    if settings.CUSTOM_DOMAINS_ALLOW_PRIVATE_ADDRESSES:
        return True
    return address.is_global and not address.is_multicast


def http_token_check(*, hostname: str, token: str, path: str = HTTP_PATH) -> CheckResult:
    """The token as the whole body of `http://<hostname><path>` (status 200). `path`: the
    custom domains' well-known path, or another feature's (accounts.sso's email domains), so
    one host can prove itself to both with different tokens."""
    addresses = _addresses(hostname)
    if not addresses:
        return CheckResult(False, f"{hostname} has no A or AAAA record.")
    usable = [address for address in addresses if _allowed(address)]
    if not usable:
        return CheckResult(False, f"{hostname} resolves only to non-public addresses.")
    url = http_url(hostname, path)
    last = f"Could not connect to {hostname}."
    for address in usable:
        try:
            status, body = _fetch(address, hostname, path)
        except (OSError, http.client.HTTPException):
            last = f"Could not fetch {url}."
            continue
        if status != 200:
            # Redirects are not followed: the token must be served at this very URL.
            return CheckResult(False, f"{url} answered HTTP {status}.")
        if body is None:
            return CheckResult(False, f"{url} answered more than {_MAX_BODY} bytes.")
        if constant_time_compare(body.strip(), token):
            return CheckResult(True, f"{url} serves the token.")
        return CheckResult(False, f"{url} does not serve the token: {_shown(body.strip())!r}.")
    return CheckResult(False, last)


def _fetch(address: Address, hostname: str, path: str) -> tuple[int, str | None]:
    """GET `path` from `address` with `hostname` as the Host: the status and the body, or
    None for a body over _MAX_BODY bytes."""
    answer = pinned_request(
        scheme="http",
        hostname=hostname,
        port=settings.CUSTOM_DOMAINS_HTTP_PORT,
        address=address,
        method="GET",
        path=path,
        headers={"Host": hostname, "User-Agent": _USER_AGENT, "Accept": "text/plain"},
        timeout=settings.CUSTOM_DOMAINS_CHECK_TIMEOUT,
        max_bytes=_MAX_BODY + 1,
    )
    if len(answer.body) > _MAX_BODY:
        return answer.status, None
    return answer.status, answer.body.decode("utf-8", "replace")
