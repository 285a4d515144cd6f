"""Content-Security-Policy for the HTML pages we serve (Swagger UI and ReDoc).

Both load their code from drf-spectacular-sidecar's static files on our own origin, plus one
inline <script> that starts them. The policy allows our origin and exactly those inline
scripts, by hash, computed from the page as sent: nothing else can run, and the pages work
whatever drf-spectacular's templates contain.
"""

import base64
import hashlib
import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.I)

# Styles: both UIs set inline style attributes at run time; hashes cannot cover those (and
# a hash would switch 'unsafe-inline' off), so styles are 'self' plus inline.
_DOCS_POLICY = (
    "default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def script_hashes(html: bytes) -> list[str]:
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]


def docs_policy(html: bytes) -> str:
    hashes = "".join(" " + h for h in script_hashes(html))
    return _DOCS_POLICY.format(hashes=hashes)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" in response:
            return response
        if request.path.startswith(tuple(settings.CSP_DOCS_PATHS)) and not response.streaming:
            response["Content-Security-Policy"] = docs_policy(response.content)
        return response
