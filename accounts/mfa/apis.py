"""The MFA endpoints of a tenant host: the login's second step, the caller's own factors
(status, TOTP setup and removal, recovery codes) and the organization's policy. Enrollment is
the person's own login only (a JWT, never an OAuth application's token), and stays open to a
session the policy holds back, so it can comply."""

from typing import Any

from dj_rest_auth import views as rest_auth
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import HasTenantCapability, IsTenantSession
from accounts.roles import Capability
from accounts.serializers import TokenPairOutput
from accounts.tenant_api import TenantApi
from api.docs import E400, E401, E402, E404, E409, E429, ERRORS_READ, ERRORS_WRITE, paginated
from api.no_store import NoStoreMixin
from api.serializers import PageQuery
from api.throttling import throttles
from saas.errors import NotAuthenticated

from .selectors import mfa_policy_get, mfa_required_of, mfa_status, webauthn_keys_list
from .serializers import (
    CodeOrPasswordInput,
    LoginMfaInput,
    MfaPolicyInput,
    MfaPolicyOutput,
    MfaStatusOutput,
    RecoveryCodesOutput,
    TotpConfirmInput,
    TotpSetupOutput,
    WebauthnCompleteInput,
    WebauthnCompleteOutput,
    WebauthnKeyOutput,
    WebauthnRegisterInput,
    WebauthnRegisterOutput,
    WebauthnRenameInput,
)
from .services import (
    login_mfa_complete,
    mfa_policy_set,
    recovery_codes_regenerate,
    totp_remove,
    totp_setup_begin,
    totp_setup_confirm,
    webauthn_registration_begin,
    webauthn_registration_complete,
    webauthn_remove,
    webauthn_rename,
)
from .webauthn import request_relying_party

_OWN_LOGIN = "Your own login only (an OAuth application's token is refused, 403)."


class LoginMfaApi(NoStoreMixin, rest_auth.LoginView):
    """The login's second step; answers as the login does (dj-rest-auth's JWT body)."""

    serializer_class = LoginMfaInput
    throttle_classes = [throttles("login_mfa")[0]]  # per IP; per account in the service

    @extend_schema(
        tags=["auth"],
        summary="Log in: the second factor",
        description="The `mfa_token` of a `POST auth/login/` answered 202, on the same host, "
        "and either `code` (the authenticator app's current code or an unused recovery "
        "code) or `webauthn` (the browser's answer to the 202's `webauthn` options, from a "
        "security key enrolled on this host). Returns the JWT pair, whose `amr` claim says "
        "how the login was made (`otp`, `rc` or `webauthn`, with `mfa`). Each TOTP time "
        "step's code works once (`mfa_code_reused`), each recovery code once, each "
        "challenge once. A wrong code is 401 `mfa_code_invalid`, a security key answer that "
        "does not verify (another challenge, origin or host, an unknown key, a signature "
        "counter that did not go up) 401 `mfa_webauthn_invalid`; after 5 the token is dead "
        "(`mfa_challenge_invalid`, as is an unknown, used, expired or another "
        "organization's token: log in again), and after 10 in 15 minutes the account is "
        "refused for a while (429 `mfa_locked`).",
        auth=[{}],  # type: ignore[list-item]
        request=LoginMfaInput,
        responses={200: TokenPairOutput, **E400, **E401, **E404, **E429},
        examples=[
            OpenApiExample(
                "TOTP code",
                value={"mfa_token": "Hf3k...", "code": "123456"},
                request_only=True,
            ),
            OpenApiExample(
                "Security key",
                value={
                    "mfa_token": "Hf3k...",
                    "webauthn": {
                        "id": "q1w2e3r4",
                        "rawId": "q1w2e3r4",
                        "type": "public-key",
                        "response": {
                            "clientDataJSON": "eyJ0...",
                            "authenticatorData": "SZYN...",
                            "signature": "MEUC...",
                            "userHandle": "MQ",
                        },
                        "clientExtensionResults": {},
                    },
                },
                request_only=True,
            ),
        ],
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)

    def login(self) -> None:
        tenant = getattr(self.request, "tenant", None)
        if tenant is None:
            raise NotFound("Log in on your organization's host.")
        data = self.serializer.validated_data
        try:
            self.user, refresh = login_mfa_complete(
                tenant=tenant,
                challenge=data["mfa_token"],
                code=data["code"],
                assertion=data["webauthn"],
                rp=request_relying_party(self.request),
            )
        except NotAuthenticated as exc:  # DRF's own 401, with its WWW-Authenticate
            raise AuthenticationFailed(exc.message, code=exc.code) from exc
        self.refresh_token, self.access_token = refresh, refresh.access_token


class _OwnMfaApi(TenantApi):
    permission_classes = [IsAuthenticated, IsTenantSession, HasTenantCapability]
    mfa_enrollment_endpoint = True


class MfaStatusApi(_OwnMfaApi):
    capabilities = {"GET": Capability.MEMBERSHIP_SELF}

    @extend_schema(
        tags=["auth"],
        summary="My two-factor authentication",
        description="Which factors the caller has set up (never their secrets or codes), "
        "how many recovery codes are unused, whether this organization requires a second "
        f"factor of the caller's role and whether this session used one. {_OWN_LOGIN}",
        responses={200: MfaStatusOutput, **ERRORS_READ},
    )
    def get(self, request: Request) -> Response:
        status = mfa_status(user_id=self.grant.user_id)
        body = {
            "enrolled": status.enrolled,
            "totp": status.totp,
            "recovery_codes": (
                {"total": status.recovery_codes_total, "unused": status.recovery_codes_unused}
                if status.recovery_codes_total
                else None
            ),
            "required_by_policy": mfa_required_of(tenant_id=self.tenant.pk, role=self.grant.role),
            "logged_in_with_mfa": "mfa" in self.grant.amr,
        }
        return Response(MfaStatusOutput(body).data)


class TotpApi(NoStoreMixin, _OwnMfaApi):
    capabilities = {"POST": Capability.MEMBERSHIP_SELF}

    @extend_schema(
        tags=["auth"],
        summary="Set up an authenticator app: begin",
        description="A new TOTP secret and its `otpauth://` URI (for a QR code), shown this "
        "once; nothing is active until `auth/mfa/totp/confirm/` gets a code for it within "
        "`expires_in` seconds. Beginning again replaces a pending secret; 409 "
        f"`mfa_already_enrolled` if an app is set up. {_OWN_LOGIN}",
        request=None,
        responses={201: TotpSetupOutput, **ERRORS_WRITE, **E409},
    )
    def post(self, request: Request) -> Response:
        setup = totp_setup_begin(user=request.user)  # type: ignore[arg-type]
        return Response(TotpSetupOutput(setup).data, status=201)


class TotpConfirmApi(NoStoreMixin, _OwnMfaApi):
    capabilities = {"POST": Capability.MEMBERSHIP_SELF}

    @extend_schema(
        tags=["auth"],
        summary="Set up an authenticator app: confirm",
        description="A current code of the new secret activates it (a wrong one is 400 "
        "`mfa_code_invalid`, and nothing changes). The first factor also makes the "
        "recovery codes, returned this once and never again (empty if the account had "
        "them). From the next login on, `auth/login/` asks for a code. Audited "
        f"(`mfa.totp_enabled`). {_OWN_LOGIN}",
        request=TotpConfirmInput,
        responses={200: RecoveryCodesOutput, **ERRORS_WRITE, **E409},
    )
    def post(self, request: Request) -> Response:
        data = self.validate(TotpConfirmInput, request)
        codes = totp_setup_confirm(tenant=self.tenant, user=request.user, code=data["code"])  # type: ignore[arg-type]
        return Response(RecoveryCodesOutput({"recovery_codes": codes}).data)


class TotpRemoveApi(_OwnMfaApi):
    capabilities = {"POST": Capability.MEMBERSHIP_SELF}

    @extend_schema(
        tags=["auth"],
        summary="Remove the authenticator app",
        description="With a current code (or an unused recovery code) or the password; "
        "the recovery codes go with it. 409 `mfa_required_by_policy` while this "
        "organization requires a second factor of the caller's role. Audited "
        f"(`mfa.totp_removed`). {_OWN_LOGIN}",
        request=CodeOrPasswordInput,
        responses={204: None, **ERRORS_WRITE, **E409},
    )
    def post(self, request: Request) -> Response:
        data = self.validate(CodeOrPasswordInput, request)
        totp_remove(tenant=self.tenant, user=request.user, role=self.grant.role, **data)  # type: ignore[arg-type]
        return Response(status=204)


class RecoveryCodesRegenerateApi(NoStoreMixin, _OwnMfaApi):
    capabilities = {"POST": Capability.MEMBERSHIP_SELF}

    @extend_schema(
        tags=["auth"],
        summary="New recovery codes",
        description="Replaces the recovery codes (the old ones stop working) and returns "
        "the new ones this once. Needs an authenticator app set up (409 `mfa_not_enrolled`) "
        "and a current code or the password. Audited (`mfa.recovery_codes_regenerated`). "
        f"{_OWN_LOGIN}",
        request=CodeOrPasswordInput,
        responses={200: RecoveryCodesOutput, **ERRORS_WRITE, **E409},
    )
    def post(self, request: Request) -> Response:
        data = self.validate(CodeOrPasswordInput, request)
        codes = recovery_codes_regenerate(tenant=self.tenant, user=request.user, **data)  # type: ignore[arg-type]
        return Response(RecoveryCodesOutput({"recovery_codes": codes}).data)


class WebauthnKeysApi(_OwnMfaApi):
    capabilities = {"GET": Capability.MEMBERSHIP_SELF}

    @extend_schema(
        tags=["auth"],
        summary="My security keys",
        operation_id="auth_mfa_webauthn_list",
        description="The caller's WebAuthn keys (security keys and passkeys), oldest first: "
        "id, name, the host each works on, when it was added and last used; never the "
        f"credential. {_OWN_LOGIN}",
        parameters=[PageQuery],
        responses={
            200: paginated(WebauthnKeyOutput, name="PaginatedWebauthnKeyList"),
            **E400,
            **ERRORS_READ,
        },
    )
    def get(self, request: Request) -> Response:
        return self.paginate(webauthn_keys_list(user_id=self.grant.user_id), WebauthnKeyOutput)


class WebauthnRegisterApi(NoStoreMixin, _OwnMfaApi):
    capabilities = {"POST": Capability.MEMBERSHIP_SELF}

    @extend_schema(
        tags=["auth"],
        summary="Add a security key: begin",
        description="The PublicKeyCredentialCreationOptions for a new key on this host (the "
        "relying party id is this host: the key will work here only). Pass `options` to "
        "`navigator.credentials.create()` and the answer to "
        "`auth/mfa/webauthn/register/complete/` within `expires_in` seconds; the pending "
        "enrollment is this person's on this organization, works once and beginning again "
        "replaces it. `passkey: true` asks for a resident key that verifies the person. "
        f"409 `mfa_webauthn_too_many_keys` past 10 keys. {_OWN_LOGIN}",
        request=WebauthnRegisterInput,
        responses={201: WebauthnRegisterOutput, **ERRORS_WRITE, **E409},
    )
    def post(self, request: Request) -> Response:
        data = self.validate(WebauthnRegisterInput, request)
        started = webauthn_registration_begin(
            tenant=self.tenant,
            user=request.user,  # type: ignore[arg-type]
            rp=request_relying_party(request),
            passkey=data["passkey"],
        )
        body = {"options": started.options, "expires_in": started.expires_in}
        return Response(WebauthnRegisterOutput(body).data, status=201)


class WebauthnRegisterCompleteApi(NoStoreMixin, _OwnMfaApi):
    capabilities = {"POST": Capability.MEMBERSHIP_SELF}

    @extend_schema(
        tags=["auth"],
        summary="Add a security key: complete",
        description="The browser's answer to the pending enrollment's options and a name for "
        "the key. The answer must come from this host's origin, for this host's relying "
        "party id and the enrollment's challenge (400 `mfa_webauthn_invalid` otherwise); "
        "the pending enrollment is spent by the first attempt, right or wrong (409 "
        "`mfa_setup_not_started` after: begin again). The first second factor also makes "
        "the recovery codes, returned this once. From the next login on, `auth/login/` "
        "offers the key (`types` has `webauthn`). Audited (`mfa.webauthn_added`). "
        f"{_OWN_LOGIN}",
        request=WebauthnCompleteInput,
        responses={201: WebauthnCompleteOutput, **ERRORS_WRITE, **E409},
    )
    def post(self, request: Request) -> Response:
        data = self.validate(WebauthnCompleteInput, request)
        key, codes = webauthn_registration_complete(
            tenant=self.tenant,
            user=request.user,  # type: ignore[arg-type]
            rp=request_relying_party(request),
            name=data["name"],
            credential=data["credential"],
        )
        body = {"key": key, "recovery_codes": codes}
        return Response(WebauthnCompleteOutput(body).data, status=201)


class WebauthnKeyApi(_OwnMfaApi):
    capabilities = {"PATCH": Capability.MEMBERSHIP_SELF}

    @extend_schema(
        tags=["auth"],
        summary="Rename a security key",
        description=f"404 for a key that is not the caller's. {_OWN_LOGIN}",
        request=WebauthnRenameInput,
        responses={200: WebauthnKeyOutput, **ERRORS_WRITE},
    )
    def patch(self, request: Request, key_id: int) -> Response:
        data = self.validate(WebauthnRenameInput, request)
        key = webauthn_rename(user=request.user, key_id=key_id, name=data.get("name"))  # type: ignore[arg-type]
        return Response(WebauthnKeyOutput(key).data)


class WebauthnKeyRemoveApi(_OwnMfaApi):
    capabilities = {"POST": Capability.MEMBERSHIP_SELF}

    @extend_schema(
        tags=["auth"],
        summary="Remove a security key",
        description="With the password or a current code (TOTP or an unused recovery "
        "code); 404 for a key that is not the caller's. The recovery codes go with the last "
        "second factor. 409 `mfa_required_by_policy` for the last one while this "
        "organization requires a second factor of the caller's role. Logins stop offering "
        f"the key at once. Audited (`mfa.webauthn_removed`). {_OWN_LOGIN}",
        request=CodeOrPasswordInput,
        responses={204: None, **ERRORS_WRITE, **E409},
    )
    def post(self, request: Request, key_id: int) -> Response:
        data = self.validate(CodeOrPasswordInput, request)
        webauthn_remove(
            tenant=self.tenant,
            user=request.user,  # type: ignore[arg-type]
            role=self.grant.role,
            key_id=key_id,
            **data,
        )
        return Response(status=204)


class MfaPolicyApi(TenantApi):
    capabilities = {"GET": Capability.MEMBERS_MANAGE, "PUT": Capability.MEMBERS_MANAGE}

    @extend_schema(
        tags=["auth"],
        summary="The organization's MFA policy",
        description="Whether owners and admins must log in with a second factor. Owners "
        "and admins.",
        responses={200: MfaPolicyOutput, **ERRORS_READ},
    )
    def get(self, request: Request) -> Response:
        required = mfa_policy_get(tenant_id=self.tenant.pk)
        return Response(MfaPolicyOutput({"require_for_admins": required}).data)

    @extend_schema(
        tags=["auth"],
        summary="Set the organization's MFA policy",
        description="Owners and admins. Requiring a second factor of owners and admins "
        "needs the plan's `sso` feature (402 `entitlement_exceeded`) and a caller logged in "
        "with one (409 `mfa_enrollment_required`); turning it off is always allowed. While "
        "it is on, an owner's or admin's session without a second factor reaches only MFA "
        "setup, who-am-I and logout (403 `mfa_enrollment_required` elsewhere) and cannot "
        "remove its factor. Applies from the next request. Audited (`mfa.policy_changed`).",
        request=MfaPolicyInput,
        responses={200: MfaPolicyOutput, **ERRORS_WRITE, **E402, **E409},
    )
    def put(self, request: Request) -> Response:
        data = self.validate(MfaPolicyInput, request)
        policy = mfa_policy_set(
            tenant=self.tenant,
            require_for_admins=data["require_for_admins"],
            caller_amr=self.grant.amr,
        )
        return Response(MfaPolicyOutput(policy).data)
