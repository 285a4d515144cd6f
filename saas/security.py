"""Content-Security-Policy for the HTML pages we serve (Swagger UI and ReDoc).

Both load their code from drf-spectacular-sidecar's static files on our own origin, plus the
inline <script>s of their templates. The policy allows our origin and exactly those inline
scripts, by hash, computed from the page as sent: nothing else can run, and the pages work
whatever drf-spectacular's templates contain. They load no fonts (ReDoc's template,
saas/templates/docs/redoc.html, drops the web fonts and the logo it would fetch from other
origins), their icons are data: images, and only ReDoc starts a web worker (its search, from a
blob: URL: CSP_WORKER_PATHS).

Swagger UI, served on the public host, also calls the API ("Try it out"), and all but the
public endpoints are on the tenant hosts: its connect-src adds them, as one source that
matches `<any slug>.<BASE_DOMAIN>` on the page's scheme and port and nothing else.
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
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def script_hashes(html: bytes) -> list[str]:
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]


def docs_policy(html: bytes, *, connect: str = "'self'", worker: str = "'none'") -> str:
    hashes = "".join(" " + h for h in script_hashes(html))
    return _DOCS_POLICY.format(hashes=hashes, connect=connect, worker=worker)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" in response:
            return response
        if request.path.startswith(tuple(settings.CSP_DOCS_PATHS)) and not response.streaming:
            connect = "'self'"
            if request.path.startswith(tuple(settings.CSP_TRY_IT_OUT_PATHS)):
                connect += " " + tenant_origin(request, "*")
            worker = "'none'"
            if request.path.startswith(tuple(settings.CSP_WORKER_PATHS)):
                worker = "blob:"
            response["Content-Security-Policy"] = docs_policy(
                response.content, connect=connect, worker=worker
            )
        return response
