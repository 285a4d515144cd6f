"""The bot-defence hook of signup: settings.SIGNUP_CHALLENGE_VERIFIER names a callable
(`"package.module.function"`) that gets the DRF request of each signup whose input is valid,
before anything is looked up or made, and returns True to let it through. Anything else
refuses it with 403 `challenge_failed`; it may instead raise a saas.errors error of its own
(e.g. `InvalidInput(..., code="challenge_failed")` for a missing token, 400), which leaves in
the one error format too. The body's optional `challenge` field carries the client's token
(`request.data.get("challenge")`); the client address is `request.META["REMOTE_ADDR"]`, or
DRF's `SimpleRateThrottle().get_ident(request)` behind proxies (NUM_PROXIES).

A Cloudflare Turnstile verifier, for example (README, "Security"):

    def turnstile(request):
        token = request.data.get("challenge", "")
        answer = requests.post(
            "https://challenges.cloudflare.com/turnstile/v0/siteverify",
            data={"secret": settings.TURNSTILE_SECRET, "response": token},
            timeout=5,
        )
        return answer.ok and answer.json().get("success") is True
"""

from typing import Any

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string
from rest_framework.request import Request

from saas.errors import PermissionDenied


def signup_challenge_verify(request: Request) -> None:
    path = settings.SIGNUP_CHALLENGE_VERIFIER
    if not path:
        return
    verifier = import_string(path)
    # Only an explicit True passes, so a verifier that forgets to answer fails closed.
    if verifier(request) is not True:
        raise PermissionDenied("The signup challenge was not passed.", code="challenge_failed")


@checks.register(checks.Tags.security)
def check_signup_challenge_verifier(**kwargs: Any) -> list[checks.CheckMessage]:
    """A mistyped verifier path is found by `manage.py check` (migrate runs it too), not by
    the first person who tries to sign up."""
    path = settings.SIGNUP_CHALLENGE_VERIFIER
    if not path:
        return []
    try:
        verifier = import_string(path)
    except ImportError as exc:
        return [checks.Error(f"SIGNUP_CHALLENGE_VERIFIER: {exc}", id="tenants.E001")]
    if not callable(verifier):
        return [
            checks.Error(f"SIGNUP_CHALLENGE_VERIFIER {path!r} is not callable", id="tenants.E001")
        ]
    return []
