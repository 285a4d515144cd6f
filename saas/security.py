"""Content-Security-Policy for the HTML pages we serve: the API docs (Swagger UI and ReDoc),
the OAuth2 sign-in and consent pages and the operator admin (the landing pages set their own
in saas.pages).

Swagger UI and ReDoc load their code from drf-spectacular-sidecar's static files on our own
origin, plus the inline <script>s of their templates. The policy allows our origin and
exactly those inline scripts, by hash, computed from the page as sent: nothing else can run,
and the pages work whatever drf-spectacular's templates contain. They load no fonts (ReDoc's
template, saas/templates/docs/redoc.html, drops the web fonts and the logo it would fetch from
other origins), their icons are data: images, and only ReDoc starts a web worker (its search,
from a blob: URL: CSP_WORKER_PATHS).

Swagger UI, served on the public host, also calls the API ("Try it out"), and all but the
public endpoints are on the tenant hosts: its connect-src adds them, as one source that
matches `<any slug>.<BASE_DOMAIN>` on the page's scheme and port and nothing else.

The OAuth2 pages and the admin (CSP_PAGE_PATHS) get the same policy without those extras:
their scripts and stylesheets are our static files (an inline script would need its hash,
which the policy carries; the admin's only ones are `type="application/json"` data, never
run) and the admin's change list has an inline <style>. Their forms post to our origin,
except the consent form, which is answered with a redirect to the application's redirect
URI: browsers check form-action on that redirect too, so the consent view adds the redirect
URI's origin (`allow_form_action`).
"""

import base64
import hashlib
import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from api.origins import tenant_origin

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.I)

# Styles: both UIs set inline style attributes at run time; hashes cannot cover those (and
# a hash would switch 'unsafe-inline' off), so styles are 'self' plus inline.
_DOCS_POLICY = (
    "default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'none'; connect-src {connect}; worker-src {worker}; "
    "object-src 'none'; base-uri 'none'; form-action {form_action}; frame-ancestors 'none'"
)
# A response attribute: further sources the page's forms may lead to (allow_form_action).
_FORM_ACTION = "csp_form_action"


def script_hashes(html: bytes) -> list[str]:
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]


def docs_policy(
    html: bytes, *, connect: str = "'self'", worker: str = "'none'", form_action: str = "'self'"
) -> str:
    hashes = "".join(" " + h for h in script_hashes(html))
    return _DOCS_POLICY.format(
        hashes=hashes, connect=connect, worker=worker, form_action=form_action
    )


def allow_form_action(response: HttpResponse, source: str) -> None:
    """Lets the page's forms also lead to `source` (a CSP source expression, such as an
    origin), besides our own origin."""
    setattr(response, _FORM_ACTION, [*getattr(response, _FORM_ACTION, []), source])


def _is_html(response: HttpResponse) -> bool:
    return str(response.get("Content-Type", "")).startswith("text/html")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" in response or response.streaming:
            return response
        if request.path.startswith(tuple(settings.CSP_DOCS_PATHS)):
            connect = "'self'"
            if request.path.startswith(tuple(settings.CSP_TRY_IT_OUT_PATHS)):
                connect += " " + tenant_origin(request, "*")
            worker = "'none'"
            if request.path.startswith(tuple(settings.CSP_WORKER_PATHS)):
                worker = "blob:"
            response["Content-Security-Policy"] = docs_policy(
                response.content, connect=connect, worker=worker
            )
        elif request.path.startswith(tuple(settings.CSP_PAGE_PATHS)) and _is_html(response):
            form_action = " ".join(["'self'", *getattr(response, _FORM_ACTION, [])])
            response["Content-Security-Policy"] = docs_policy(
                response.content, form_action=form_action
            )
        return response
