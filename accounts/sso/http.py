"""Calls to an identity provider: bounded timeouts (SSO_HTTP_TIMEOUT), no redirects followed,
answers of at most 1 MB, JSON (OIDC) or XML (a SAML IdP's metadata, parsed by
accounts.sso.saml). Outside dev and test (SSO_ALLOW_PRIVATE_NETWORKS) only
https to hosts whose every address is public: an owner configuring a connection must not be
able to make us fetch from our own network (SSRF)."""

import ipaddress
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from saas.errors import InvalidInput

MAX_BYTES = 1024 * 1024


class ProviderError(Exception):
    """The provider could not be reached or answered something unusable; the message says
    what, for a 4xx naming the field or step."""


def url_check(url: str) -> str:
    """`url` if we may call it; ProviderError otherwise."""
    parts = urlsplit(url)
    allow_private = settings.SSO_ALLOW_PRIVATE_NETWORKS
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise ProviderError(f"Must be an {' or '.join(schemes)} URL.")
    if parts.username or parts.password or parts.fragment:
        raise ProviderError("Must not carry credentials or a fragment.")
    if not allow_private:
        try:
            infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise ProviderError(f"The host {parts.hostname} does not resolve.") from exc
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if not address.is_global:
                raise ProviderError(f"The host {parts.hostname} is not on the public internet.")
    return url


def _body(response: requests.Response, what: str) -> bytes:
    if response.status_code != 200:
        raise ProviderError(f"The {what} answered HTTP {response.status_code}.")
    body: bytes = response.raw.read(MAX_BYTES + 1, decode_content=True)
    if len(body) > MAX_BYTES:
        raise ProviderError(f"The {what} is larger than 1 MB.")
    return body


def _json(response: requests.Response, what: str) -> dict[str, Any]:
    body = _body(response, what)
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
    return _provider_json("POST", url, what=what, failed="reached", data=data, auth=auth)


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
    method: str, url: str, *, what: str, failed: str, read: Any, accept: str, **send: Any
) -> Any:
    """One call to the provider: the URL checked first (url_check), bounded in time, no
    redirects followed, the answer read within its size limit (`read`: _json or _body)."""
    try:
        with requests.request(
            method,
            url_check(url),
            timeout=settings.SSO_HTTP_TIMEOUT,
            allow_redirects=False,
            stream=True,
            headers={"Accept": accept},
            **send,
        ) as response:
            return read(response, what)
    except requests.RequestException as exc:
        raise ProviderError(f"The {what} could not be {failed} ({type(exc).__name__}).") from exc


def invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, extra={"fields": {field: [message]}})
