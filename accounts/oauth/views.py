"""The public host's OAuth2 pages: sign in, consent (authorization code + PKCE) and token
introspection. Token issuance and revocation are DOT's own views (accounts.oauth.urls)."""

import calendar
import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.models import get_access_token_model
from oauth2_provider.views import AuthorizationView
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.common import Request as OauthlibRequest
from oauthlib.oauth2.rfc6749 import errors
from rest_framework.throttling import SimpleRateThrottle

from api.throttling import throttles
from saas.security import allow_form_action

from ..mfa.selectors import mfa_enrolled
from ..mfa.services import second_factor_verify
from ..models import OAuthApplication
from .validators import scopes_allowed_for


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(label="Email", max_length=254, widget=forms.EmailInput())
    # An account with a second factor (accounts.mfa) signs in with it here too: the password
    # alone must not let an application act for it.
    code = forms.CharField(label="Two-factor code", max_length=32, required=False)

    def clean_username(self) -> str:
        return str(self.cleaned_data["username"]).strip().lower()  # emails are stored lower-case

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if mfa_enrolled(user_id=user.pk):
            code = str(self.cleaned_data.get("code") or "")
            if not code or second_factor_verify(user_id=user.pk, code=code) is None:
                raise forms.ValidationError(
                    "Enter the current code of your authenticator app (or an unused "
                    "recovery code).",
                    code="mfa_code_required",
                )


class _LoginEmailThrottle(SimpleRateThrottle):
    """Per account, sharing the API login's budget (api.throttling keys it the same way)."""

    scope = "login_account"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        email = str(request.POST.get("username", "")).strip().lower()
        return (
            self.cache_format % {"scope": self.scope, "ident": f"email:{email}"} if email else None
        )


def _login_wait(request: Any) -> float | None:
    """None if the sign-in may go ahead, else the seconds until it may. The API login's
    throttles (per IP, per account) read only META and POST, which a plain Django request has
    too."""
    for throttle in (throttles("login")[0](), _LoginEmailThrottle()):
        if not throttle.allow_request(request, None):  # type: ignore[arg-type]
            return throttle.wait() or 1.0
    return None


class OAuthLoginView(LoginView):
    """Email + password sign-in on the public host, so /o/authorize/ knows who consents."""

    template_name = "oauth/login.html"
    form_class = EmailAuthenticationForm
    next_page = "/o/login/"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = _login_wait(request)
        if wait is not None:
            form = self.get_form()
            form.add_error(None, "Too many sign-in attempts. Try again in a minute.")
            refused = self.render_to_response(self.get_context_data(form=form), status=429)
            refused["Retry-After"] = str(int(wait) + 1)
            return refused
        return super().post(request, *args, **kwargs)


class TenantAuthorizationView(AuthorizationView):
    """DOT's consent page, after two checks on the signed-in user: they are a member of the
    application's organization, and their role may grant every scope asked for. Asked for
    no scope, the client gets what the application allows and the role may grant."""

    template_name = "oauth/authorize.html"

    def validate_authorization_request(self, request: HttpRequest) -> tuple[list[str], dict]:
        scopes, credentials = super().validate_authorization_request(request)
        application = OAuthApplication.objects.select_related("tenant").get(
            client_id=credentials["client_id"]
        )
        allowed = scopes_allowed_for(application=application, user_id=request.user.pk)
        state = credentials.get("state")
        if allowed is None:
            raise self._refusal(
                errors.AccessDeniedError(
                    description="You are not a member of this application's organization.",
                    state=state,
                ),
                credentials,
            )
        if not request.GET.get("scope"):
            scopes = [name for name in scopes if name in allowed]
        if not scopes or not set(scopes) <= allowed:
            raise self._refusal(
                errors.InvalidScopeError(
                    description="Your role cannot grant the requested scope.", state=state
                ),
                credentials,
            )
        self.tenant_name = application.tenant.name
        return scopes, credentials

    @staticmethod
    def _refusal(error: errors.OAuth2Error, credentials: dict) -> OAuthToolkitError:
        # The redirect URI was validated against the application above: errors go back there.
        return OAuthToolkitError(error=error, redirect_uri=credentials["redirect_uri"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["tenant_name"] = getattr(self, "tenant_name", "")
        return context

    def render_to_response(self, context: dict[str, Any], **response_kwargs: Any) -> HttpResponse:
        response = super().render_to_response(context, **response_kwargs)
        # The consent form is answered with a redirect to the redirect URI (validated against
        # the application above), which the page's CSP form-action must allow.
        source = _csp_origin(str(context.get("redirect_uri") or ""))
        if source:
            allow_form_action(response, source)
        return response


# What a CSP source expression may hold: a scheme, or a scheme and host[:port].
_CSP_ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*:(//[a-z0-9.-]+(:[0-9]+)?)?")
# Never a form's target, whatever OAUTH_REDIRECT_URI_SCHEMES allows.
_SCRIPT_SCHEMES = frozenset({"javascript", "vbscript", "data", "blob", "filesystem"})


def _csp_origin(uri: str) -> str | None:
    """The origin of a redirect URI as a CSP source (`https://app.example:8443`; a native
    app's custom scheme as `com.example.app:`), or None if it cannot be written as one."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme in _SCRIPT_SCHEMES:
        return None
    host = parts.hostname or ""
    source = f"{parts.scheme}://{host}{f':{port}' if port else ''}" if host else f"{parts.scheme}:"
    return source if _CSP_ORIGIN.fullmatch(source) else None


@method_decorator(csrf_exempt, name="dispatch")
class TenantIntrospectTokenView(OAuthLibMixin, View):
    """RFC 7662 introspection for registered clients: authenticate with the client id and
    secret of a confidential application (HTTP Basic, or in the body), POST `token`. A
    client learns about tokens of its own organization's applications only; any other
    token is reported inactive, as an unknown one is."""

    def post(self, request: HttpRequest) -> HttpResponse:
        client = self._authenticated_client(request)
        if client is None:
            response = JsonResponse({"error": "invalid_client"}, status=401)
            response["WWW-Authenticate"] = 'Basic realm="oauth"'
            return response
        value = request.POST.get("token")
        if not value:
            return JsonResponse(
                {"error": "invalid_request", "error_description": "token is required"}, status=400
            )
        return JsonResponse(_introspection(value, tenant_id=client.tenant_id))

    def _authenticated_client(self, request: HttpRequest) -> OAuthApplication | None:
        core = self.get_oauthlib_core()
        uri, method, body, headers = core._extract_params(request)
        oauth_request = OauthlibRequest(uri, method, body, headers)
        if not core.server.request_validator.authenticate_client(oauth_request):
            return None
        client: OAuthApplication = oauth_request.client
        return client


def _introspection(value: str, *, tenant_id: int) -> dict[str, Any]:
    checksum = hashlib.sha256(value.encode()).hexdigest()
    token = (
        get_access_token_model()
        .objects.select_related("application", "user")
        .filter(token_checksum=checksum)
        .first()
    )
    application = getattr(token, "application", None)
    if token is None or application is None or application.tenant_id != tenant_id:
        return {"active": False}
    if not token.is_valid():
        return {"active": False}
    data: dict[str, Any] = {
        "active": True,
        "scope": token.scope,
        "client_id": application.client_id,
        "token_type": "Bearer",
        "exp": calendar.timegm(token.expires.utctimetuple()),
    }
    if token.user is not None:
        data["username"] = token.user.get_username()
    return data
