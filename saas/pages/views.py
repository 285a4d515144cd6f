"""Landing pages for the links we email or redirect to, on the organization's host:
invitation accept, password reset, the Checkout result and the portal's return.

They hold no logic of their own. The forms post to the same API endpoints a product's own
front end would call (same validation, throttles and errors, shown in words), so replacing a
page with your front end changes nothing else: serve these paths yourself (README, "Landing
pages"). The token in a path never leaves the page: no-referrer, no-store, no third-party
resources; the one inline script is allowed by its hash.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from saas.security import script_hashes

_POLICY = (
    "default-src 'none'; script-src{hashes}; style-src 'unsafe-inline'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def _page(request: HttpRequest, template: str, **context: object) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    response = render(request, f"pages/{template}.html", {"organization": tenant.name, **context})
    hashes = "".join(" " + h for h in script_hashes(response.content)) or " 'none'"
    response["Content-Security-Policy"] = _POLICY.format(hashes=hashes)
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def invitation_page(request: HttpRequest, token: str) -> HttpResponse:
    return _page(request, "invitation", token=token)


@require_GET
def password_reset_page(request: HttpRequest, uid: str, token: str) -> HttpResponse:
    return _page(request, "password_reset", uid=uid, token=token)


@require_GET
def billing_page(request: HttpRequest) -> HttpResponse:
    """Where Checkout (?checkout=success|canceled) and the billing portal send people back."""
    outcome = request.GET.get("checkout", "")
    return _page(request, "billing", outcome=outcome if outcome in ("success", "canceled") else "")


@require_GET
def sso_complete_page(request: HttpRequest) -> HttpResponse:
    """Where an SSO login ends (accounts.sso): the one-time code is in the URL fragment, which
    the page's script exchanges for the JWT pair at POST /api/v1/sso/token/."""
    return _page(request, "sso_complete")
