"""The origins of this deployment as the request being served sees them.

The public host (BASE_DOMAIN) and the tenant hosts (`<slug>.<BASE_DOMAIN>`) share a scheme
and a port: whatever `make run`, a test server or the proxy in front of us uses, the request
carries it (its Host header, and X-Forwarded-Proto through SECURE_PROXY_SSL_HEADER). So the
docs loaded from the public host can point "Try it out" at the tenant hosts (the OpenAPI
`servers`, the docs page's CSP) and "Authorize" at the OAuth2 endpoints, and a tenant host can
let that page call it (api.cors), without a configured URL that is wrong on every other port.
"""

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest
from django.http.request import split_domain_port

TENANT_VARIABLE = "tenant"


def _scheme_and_port(request: HttpRequest) -> tuple[str, str]:
    """`http`, `:8000`; the port is empty when the Host header names none (the scheme's
    default port)."""
    _, port = split_domain_port(request.get_host())
    return request.scheme or "http", f":{port}" if port else ""


def public_origin(request: HttpRequest) -> str:
    scheme, port = _scheme_and_port(request)
    return f"{scheme}://{settings.BASE_DOMAIN}{port}"


def tenant_origin(request: HttpRequest, slug: str) -> str:
    """`slug`'s host on the request's scheme and port; `*` gives the CSP source that
    matches every tenant host and nothing else."""
    scheme, port = _scheme_and_port(request)
    return f"{scheme}://{slug}.{settings.BASE_DOMAIN}{port}"


def _configured_public_origin() -> tuple[str, str]:
    """Without a request (`manage.py spectacular`): the public URL the OAuth2 endpoints
    advertise, OAUTH_PUBLIC_URL, the one place the deployment's public URL is configured."""
    parts = urlsplit(settings.OAUTH_PUBLIC_URL)
    return parts.scheme, f":{parts.port}" if parts.port else ""


def openapi_servers(request: HttpRequest | None) -> list[dict[str, Any]]:
    if request is not None:
        public = public_origin(request)
        tenant = tenant_origin(request, "{" + TENANT_VARIABLE + "}")
    else:
        scheme, port = _configured_public_origin()
        public = f"{scheme}://{settings.BASE_DOMAIN}{port}"
        tenant = f"{scheme}://{{{TENANT_VARIABLE}}}.{settings.BASE_DOMAIN}{port}"
    return [
        {"url": public, "description": "Public host: signup, plans, Stripe webhooks"},
        {
            "url": tenant,
            "description": "An organization's host: every other endpoint",
            "variables": {
                TENANT_VARIABLE: {
                    "default": "demo",
                    "description": "The organization's slug (its subdomain)",
                }
            },
        },
    ]


def servers_postprocess(result: dict[str, Any], request: Any = None, **kwargs: Any) -> dict:
    """drf-spectacular hook: `servers` for the host, scheme and port the schema was
    requested on."""
    result["servers"] = openapi_servers(request)
    return result


def oauth_urls_postprocess(result: dict[str, Any], request: Any = None, **kwargs: Any) -> dict:
    """drf-spectacular hook: the OAuth2 flows' endpoints, paths on the public host
    (accounts.oauth.schema), on the public origin the schema was requested on; without a
    request, on OAUTH_PUBLIC_URL."""
    origin = public_origin(request) if request is not None else settings.OAUTH_PUBLIC_URL
    schemes = result.get("components", {}).get("securitySchemes", {})
    for scheme in schemes.values():
        for flow in scheme.get("flows", {}).values():
            for key in ("authorizationUrl", "tokenUrl", "refreshUrl"):
                if flow.get(key, "").startswith("/"):
                    flow[key] = origin + flow[key]
    return result
