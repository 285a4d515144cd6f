"""Calls to an identity provider: bounded timeouts (SSO_HTTP_TIMEOUT), no redirects followed,
answers of at most 1 MB, JSON (OIDC) or XML (a SAML IdP's metadata, parsed by
accounts.sso.saml). Outside dev and test (SSO_ALLOW_PRIVATE_NETWORKS) only https to hosts whose
every address is public: an owner configuring a connection must not be able to make us fetch
from our own network (SSRF). The request connects to an address that check passed, not to the
name again (saas.pinned_http), so a name that answers differently the second time (DNS
rebinding) cannot point it there either."""

import base64
import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings

from saas.errors import InvalidInput
from saas.pinned_http import Address, Answer, host_addresses, pinned_request

MAX_BYTES = 1024 * 1024
USER_AGENT = "saas-sso/1"


class ProviderError(Exception):
    """The provider could not be reached or answered something unusable; the message says
    what, for a 4xx naming the field or step."""


@dataclass(frozen=True)
class _Target:
    scheme: str
    hostname: str
    port: int
    path: str
    addresses: list[Address]


def _target(url: str) -> _Target:
    """Where `url` may be called: its parts and the addresses checked; ProviderError if not."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ProviderError("Not a valid URL.") from exc
    allow_private = settings.SSO_ALLOW_PRIVATE_NETWORKS
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise ProviderError(f"Must be an {' or '.join(schemes)} URL.")
    if parts.username or parts.password or parts.fragment:
        raise ProviderError("Must not carry credentials or a fragment.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = host_addresses(parts.hostname, port)
    except OSError as exc:
        raise ProviderError(f"The host {parts.hostname} does not resolve.") from exc
    if not addresses:
        raise ProviderError(f"The host {parts.hostname} does not resolve.")
    if not allow_private and not all(address.is_global for address in addresses):
        raise ProviderError(f"The host {parts.hostname} is not on the public internet.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(parts.scheme, parts.hostname, port, path, addresses)


def url_check(url: str) -> str:
    """`url` if we may call it; ProviderError otherwise."""
    _target(url)
    return url


def _body(answer: Answer, what: str) -> bytes:
    if answer.status != 200:
        raise ProviderError(f"The {what} answered HTTP {answer.status}.")
    if len(answer.body) > MAX_BYTES:
        raise ProviderError(f"The {what} is larger than 1 MB.")
    return answer.body


def _json(answer: Answer, what: str) -> dict[str, Any]:
    body = _body(answer, what)
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ProviderError(f"The {what} is not JSON.") from exc
    if not isinstance(data, dict):
        raise ProviderError(f"The {what} is not a JSON object.")
    return data


def provider_get_json(url: str, *, what: str) -> dict[str, Any]:
    return _provider_json("GET", url, what=what, failed="fetched")


def provider_post_form(
    url: str, *, data: dict[str, str], auth: tuple[str, str], what: str
) -> dict[str, Any]:
    """A form POST with HTTP Basic client authentication (an OAuth token endpoint)."""
    credentials = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    return _provider_json(
        "POST",
        url,
        what=what,
        failed="reached",
        body=urlencode(data).encode(),
        headers={
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


def provider_get_xml(url: str, *, what: str) -> bytes:
    """A document of the provider as bytes (a SAML IdP's metadata), under the same rules."""
    accept = "application/samlmetadata+xml, application/xml, text/xml"
    return _provider_call("GET", url, what=what, failed="fetched", read=_body, accept=accept)


def _provider_json(method: str, url: str, *, what: str, failed: str, **send: Any) -> dict[str, Any]:
    result: dict[str, Any] = _provider_call(
        method, url, what=what, failed=failed, read=_json, accept="application/json", **send
    )
    return result


def _provider_call(
    method: str,
    url: str,
    *,
    what: str,
    failed: str,
    read: Any,
    accept: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """One call to the provider: the URL checked first (_target), then each of its checked
    addresses tried in turn, bounded in time, no redirects followed, the answer read within its
    size limit (`read`: _json or _body)."""
    target = _target(url)
    connect_timeout, read_timeout = settings.SSO_HTTP_TIMEOUT
    error: BaseException | None = None
    for address in target.addresses:
        try:
            answer = pinned_request(
                scheme=target.scheme,
                hostname=target.hostname,
                port=target.port,
                address=address,
                method=method,
                path=target.path,
                body=body,
                headers={
                    "Accept": accept,
                    "User-Agent": USER_AGENT,
                    "Connection": "close",
                    **(headers or {}),
                },
                timeout=float(read_timeout),
                connect_timeout=float(connect_timeout),
                max_bytes=MAX_BYTES + 1,
            )
        except (OSError, http.client.HTTPException) as exc:
            error = exc
            continue
        return read(answer, what)
    raise ProviderError(f"The {what} could not be {failed} ({type(error).__name__}).") from error


def invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, extra={"fields": {field: [message]}})
