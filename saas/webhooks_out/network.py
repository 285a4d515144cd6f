"""Where an endpoint may point, and the one HTTP request of a delivery attempt.

- At registration (`endpoint_url_check`) and again at every delivery (`deliver`), the host is
  resolved here and every address must be public: never private, link-local (cloud metadata
  at 169.254.169.254), multicast, reserved or unspecified; loopback only where
  WEBHOOKS_ALLOW_LOOPBACK (dev and test), and plain http only to loopback there (a test run
  sets WEBHOOKS_LOOPBACK_ONLY: nothing but loopback at all, whatever a test or the fuzzer
  registers). The request
  then connects to an address this check passed, not to the name again, so a name that
  answers differently the second time (DNS rebinding) cannot point it into our network.
- The request is bounded: WEBHOOKS_TIMEOUT_SECONDS to connect, for each read, and for the whole
  answer (a receiver sending a byte at a time cannot hold a worker); at most
  WEBHOOKS_RESPONSE_MAX_BYTES of the answer are read; redirects are not followed (a 3xx is a
  failed attempt, like any answer outside 2xx).
"""

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from saas.pinned_http import Address, host_addresses, pinned_request

USER_AGENT = "saas-webhooks/1"


class EndpointRefused(Exception):
    """The URL may not be called; the message says why (shown to the organization)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    hostname: str
    port: int
    path: str
    addresses: list[Address]


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    excerpt: str
    error: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _allowed(address: Address) -> bool:
    if address.is_loopback:
        return bool(settings.WEBHOOKS_ALLOW_LOOPBACK)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return _allowed(address.ipv4_mapped)
    return address.is_global and not address.is_multicast


def _parse(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise EndpointRefused("Not a valid URL.") from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise EndpointRefused("Must be an https URL.")
    if parts.username or parts.password:
        raise EndpointRefused("Must not carry credentials.")
    if parts.fragment:
        raise EndpointRefused("Must not carry a fragment.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, parts.hostname, port or default, path


def _resolve(hostname: str, port: int) -> list[Address]:
    try:
        return host_addresses(hostname, port)
    except OSError as exc:
        raise EndpointRefused(f"The host {hostname} does not resolve.") from exc


def endpoint_url_check(url: str) -> Target:
    """The URL's target with its checked addresses, or EndpointRefused."""
    scheme, hostname, port, path = _parse(url)
    addresses = _resolve(hostname, port)
    if not addresses:
        raise EndpointRefused(f"The host {hostname} does not resolve.")
    if not all(_allowed(address) for address in addresses):
        raise EndpointRefused(
            f"The host {hostname} resolves to an address that is not on the public internet."
        )
    if scheme == "http" and not (
        settings.WEBHOOKS_ALLOW_LOOPBACK and all(a.is_loopback for a in addresses)
    ):
        raise EndpointRefused("Must be an https URL.")
    if settings.WEBHOOKS_LOOPBACK_ONLY and not all(a.is_loopback for a in addresses):
        raise EndpointRefused(f"The host {hostname} is not on this machine (loopback only here).")
    return Target(scheme, hostname, port, path, addresses)


def deliver(url: str, *, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST `body` to `url`; never raises: what happened is in the Outcome."""
    started = time.monotonic()
    try:
        target = endpoint_url_check(url)
    except EndpointRefused as exc:
        return Outcome(None, 0, "", f"Refused: {exc}"[:500])
    error = "Could not connect."
    for address in target.addresses:
        try:
            status, excerpt = _post(target, address, body=body, headers=headers)
        except (OSError, http.client.HTTPException) as exc:
            error = _describe(exc)
            continue
        latency = int((time.monotonic() - started) * 1000)
        return Outcome(status, latency, excerpt, _status_error(status))
    return Outcome(None, int((time.monotonic() - started) * 1000), "", error)


def _status_error(status: int) -> str:
    if 200 <= status < 300:
        return ""
    if 300 <= status < 400:
        return f"HTTP {status}: redirects are not followed."
    return f"HTTP {status}."


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "Timed out."
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or type(exc).__name__}."[:500]
    if isinstance(exc, ConnectionRefusedError):
        return "Connection refused."
    return f"{type(exc).__name__}."[:500]


def _post(
    target: Target, address: Address, *, body: bytes, headers: dict[str, str]
) -> tuple[int, str]:
    answer = pinned_request(
        scheme=target.scheme,
        hostname=target.hostname,
        port=target.port,
        address=address,
        method="POST",
        path=target.path,
        body=body,
        headers={
            **headers,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Connection": "close",
        },
        timeout=float(settings.WEBHOOKS_TIMEOUT_SECONDS),
        max_bytes=int(settings.WEBHOOKS_RESPONSE_MAX_BYTES),
    )
    return answer.status, answer.body.decode("utf-8", "replace")
