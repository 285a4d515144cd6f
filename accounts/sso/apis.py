"""Single sign-on on a tenant host, under /api/v1/sso/: the connection (owner and admins),
and the login (anyone: it is how a person proves who they are). The login's answers are
redirects, to the provider and back to the landing page /sso/complete, which exchanges the
one-time code in its URL fragment for the JWT pair at sso/token/: tokens never travel in a
URL."""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.tenant_api import TenantApi
from api.base import PublicApi
from api.docs import (
    E400,
    E401,
    E402,
    E403,
    E404,
    E409,
    E429,
    ERRORS_READ,
    ERRORS_WRITE,
    error_doc,
)
from api.no_store import NoStoreMixin
from api.serializers import ChoiceField, QuerySerializer, StrictSerializer
from api.throttling import throttles
from saas.errors import NotFound
from tenants.domains.checks import http_url, txt_record_name

from ..roles import ASSIGNABLE_ROLE_CHOICES, Capability
from ..serializers import UserDetailsSerializer
from .domains import HTTP_PATH as DOMAIN_HTTP_PATH
from .domains import sso_domain_verify
from .models import Policy, SsoConnection, SsoDomain, VerificationMethod
from .selectors import sso_connection_get
from .services import (
    sso_connection_configure,
    sso_connection_delete,
    sso_login_complete,
    sso_login_start,
    sso_token_exchange,
)

TAGS = ["sso"]
MANAGE = {method: Capability.MEMBERS_MANAGE for method in ("GET", "PUT", "DELETE")}
CALLBACK_PATH = "/api/v1/sso/callback/"


def _tenant(request: Request) -> Any:
    tenant = getattr(request, "tenant", None)
    if tenant is None:  # (the routes exist on tenant hosts only; kept for safety)
        raise NotFound("Sign in on your organization's host.")
    return tenant


def _wants_json(request: Request) -> bool:
    """A client that asks for JSON only (a script, a native app) gets the URL in a body; a
    browser, which accepts HTML, is redirected."""
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def callback_url(request: Request) -> str:
    """The redirect URI to register at the provider: this host's callback."""
    return request.build_absolute_uri(CALLBACK_PATH)


class SsoDomainDnsRecordOutput(serializers.Serializer):
    type = serializers.CharField(help_text="Always TXT.")
    name = serializers.CharField(help_text="The record's name: `_saas-challenge.<domain>`.")
    value = serializers.CharField(help_text="The record's value: the domain's token.")


class SsoDomainHttpTokenOutput(serializers.Serializer):
    url = serializers.CharField(help_text="Where the token must be served (plain HTTP, port 80).")
    body = serializers.CharField(help_text="The answer's whole body: the token (status 200).")


class SsoDomainVerificationOutput(serializers.Serializer):
    dns = SsoDomainDnsRecordOutput(help_text="Publish this TXT record, or ...")
    http = SsoDomainHttpTokenOutput(help_text="... serve this token from the domain's host.")


class SsoDomainOutput(serializers.Serializer):
    domain = serializers.CharField()
    verified = serializers.SerializerMethodField(
        help_text="Whether the organization proved it owns the domain. Only a verified domain "
        "signs in through the provider, is provisioned just in time and is held to an "
        "enforced policy; an unverified one is a claim that does nothing yet."
    )
    verified_at = serializers.DateTimeField(allow_null=True)
    verified_by = ChoiceField(choices=VerificationMethod.choices, allow_null=True)
    verification = serializers.SerializerMethodField()
    verify_url = serializers.SerializerMethodField(help_text="POST here to check now.")

    def get_verified(self, domain: SsoDomain) -> bool:
        return domain.verified_at is not None

    @extend_schema_field(SsoDomainVerificationOutput)
    def get_verification(self, domain: SsoDomain) -> dict[str, dict[str, str]]:
        return {
            "dns": {"type": "TXT", "name": txt_record_name(domain.domain), "value": domain.token},
            "http": {"url": http_url(domain.domain, DOMAIN_HTTP_PATH), "body": domain.token},
        }

    def get_verify_url(self, domain: SsoDomain) -> str:
        return self.context["request"].build_absolute_uri(
            f"/api/v1/sso/domains/{domain.domain}/verify/"
        )

    def to_representation(self, instance: SsoDomain) -> dict:
        data = dict(super().to_representation(instance))
        data["verified_by"] = instance.verified_by or None  # stored blank until verified
        return data


class SsoConnectionOutput(serializers.Serializer):
    protocol = serializers.CharField()
    issuer = serializers.CharField()
    client_id = serializers.CharField()
    has_client_secret = serializers.SerializerMethodField(
        help_text="Always true: the secret is stored encrypted and never shown again."
    )
    domains = SsoDomainOutput(many=True, source="domains.all")
    policy = ChoiceField(choices=Policy.choices)
    default_role = ChoiceField(choices=ASSIGNABLE_ROLE_CHOICES)
    redirect_uri = serializers.SerializerMethodField(
        help_text="Register this redirect URI at the provider."
    )
    login_url = serializers.SerializerMethodField(help_text="Where people start a login.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_has_client_secret(self, connection: SsoConnection) -> bool:
        return bool(connection.client_secret_encrypted)

    def get_redirect_uri(self, connection: SsoConnection) -> str:
        return callback_url(self.context["request"])

    def get_login_url(self, connection: SsoConnection) -> str:
        return self.context["request"].build_absolute_uri("/api/v1/sso/login/")


class SsoConnectionApi(NoStoreMixin, TenantApi):
    capabilities = MANAGE

    class SsoConnectionInput(StrictSerializer):
        issuer = serializers.URLField(
            max_length=2000,
            help_text="The OpenID Connect issuer; its /.well-known/openid-configuration is "
            "fetched and checked (https, a public host).",
        )
        client_id = serializers.CharField(max_length=255)
        client_secret = serializers.CharField(
            max_length=2000,
            required=False,
            help_text="Required the first time; omit it later to keep the stored one. Stored "
            "encrypted, never returned.",
        )
        domains = serializers.ListField(
            child=serializers.CharField(max_length=253),
            min_length=1,
            max_length=50,
            help_text="Email domains that sign in here, once verified (each domain's TXT "
            "record or HTTP token is in the answer; then POST its verify_url). A domain "
            "another organization has verified is 409 sso_domain_claimed.",
        )
        policy = ChoiceField(
            choices=Policy.choices,
            default=Policy.OPTIONAL,
            help_text="enforced: members with these domains, once verified, cannot log in "
            "or accept an invitation with a password, except the owner (break-glass).",
        )
        default_role = ChoiceField(
            choices=ASSIGNABLE_ROLE_CHOICES,
            default="member",
            help_text="The role of people who join by signing in (just-in-time provisioning).",
        )

    @extend_schema(
        tags=TAGS,
        summary="Get the SSO connection",
        description="The organization's OpenID Connect connection (the client secret is never "
        "shown), with the redirect URI to register at the provider.",
        responses={200: SsoConnectionOutput, **ERRORS_READ},
    )
    def get(self, request: Request) -> Response:
        connection = sso_connection_get(tenant=self.tenant)
        return Response(SsoConnectionOutput(connection, context={"request": request}).data)

    @extend_schema(
        tags=TAGS,
        summary="Configure the SSO connection",
        description="Creates or replaces the organization's OpenID Connect connection. The "
        "issuer's discovery document and keys are fetched and checked first; a domain "
        "another organization has verified is 409 `sso_domain_claimed`; nothing is saved "
        "unless all of it is valid. Needs the plan's `sso` feature (402). New domains are "
        "recorded unverified (kept ones keep their state): prove each with "
        "`POST /api/v1/sso/domains/<domain>/verify/`.",
        request=SsoConnectionInput,
        responses={200: SsoConnectionOutput, **ERRORS_WRITE, **E402, **E409},
        examples=[
            OpenApiExample(
                "Okta, enforced",
                value={
                    "issuer": "https://acme.okta.com",
                    "client_id": "0oa1b2c3",
                    "client_secret": "s3cr3t",
                    "domains": ["acme.test"],
                    "policy": "enforced",
                    "default_role": "member",
                },
                request_only=True,
            )
        ],
    )
    def put(self, request: Request) -> Response:
        data = self.validate(self.SsoConnectionInput, request)
        connection = sso_connection_configure(
            tenant=self.tenant,
            issuer=data["issuer"],
            client_id=data["client_id"],
            client_secret=data.get("client_secret"),
            domains=data["domains"],
            policy=data["policy"],
            default_role=data["default_role"],
        )
        return Response(SsoConnectionOutput(connection, context={"request": request}).data)

    @extend_schema(
        tags=TAGS,
        summary="Delete the SSO connection",
        description="Password login applies to everyone again; the domains become free.",
        responses={204: None, **ERRORS_WRITE},
    )
    def delete(self, request: Request) -> Response:
        sso_connection_delete(tenant=self.tenant)
        return Response(status=204)


class SsoDomainVerifyApi(NoStoreMixin, TenantApi):
    capabilities = {"POST": Capability.MEMBERS_MANAGE}

    @extend_schema(
        tags=TAGS,
        summary="Verify an SSO email domain",
        operation_id="sso_domains_verify",
        description="Checks now: the TXT record at `_saas-challenge.<domain>`, then "
        "`http://<domain>/.well-known/saas-sso-domain-verification` (no redirects followed). "
        "On success the domain is verified: its people sign in through the provider, are "
        "provisioned just in time and are held to an enforced policy; any other "
        "organization's unverified claim of it is removed. A verified domain answers as it "
        "is. 409 `sso_domain_not_verified` says what each check found (`checks`), and "
        "nothing changes; 409 `sso_domain_claimed` when another organization proved it "
        "first. Needs the plan's `sso` feature (402).",
        parameters=[
            OpenApiParameter(
                "domain",
                str,
                OpenApiParameter.PATH,
                description="An email domain the connection lists, such as acme.com.",
            )
        ],
        request=None,
        responses={200: SsoDomainOutput, **ERRORS_WRITE, **E402, **E409},
    )
    def post(self, request: Request, domain: str) -> Response:
        verified = sso_domain_verify(tenant=self.tenant, domain=domain)
        return Response(SsoDomainOutput(verified, context={"request": request}).data)


class SsoLoginQuery(QuerySerializer):
    email = serializers.EmailField(
        required=False,
        help_text="The person's email: must be in the connection's verified domains (400 "
        "sso_domain_not_covered, or sso_domain_unverified); sent to the provider as "
        "login_hint.",
    )


class SsoRedirectOutput(serializers.Serializer):
    location = serializers.CharField(help_text="Where a browser would have been redirected.")


class SsoLoginApi(NoStoreMixin, PublicApi):
    throttle_classes = throttles("login")[:1]  # per IP: each start stores a login state

    @extend_schema(
        tags=TAGS,
        summary="Start an SSO login",
        description="Redirects (302) to the organization's identity provider, with state, "
        "nonce and PKCE (S256) kept server-side for this organization, single use, for "
        "SSO_LOGIN_TTL_SECONDS. A client that accepts only `application/json` gets the URL "
        "in a 200 body instead.",
        auth=[{}],  # type: ignore[list-item]
        parameters=[SsoLoginQuery],
        responses={
            200: SsoRedirectOutput,
            302: OpenApiResponse(description="To the provider's authorization endpoint."),
            **E400,
            **E401,
            **E402,
            **E404,
            **E429,
        },
    )
    def get(self, request: Request) -> Response:
        query = self.query(SsoLoginQuery)
        url = sso_login_start(
            tenant=_tenant(request),
            redirect_uri=callback_url(request),
            email=query.get("email", ""),
        )
        return _redirect(request, url)


class SsoCallbackQuery(QuerySerializer):
    state = serializers.CharField(max_length=100, help_text="As sent to the provider.")
    # Some providers' codes run past a thousand characters.
    code = serializers.CharField(max_length=2048, required=False)
    error = serializers.CharField(max_length=100, required=False)
    error_description = serializers.CharField(max_length=500, required=False)
    iss = serializers.CharField(max_length=500, required=False)
    session_state = serializers.CharField(max_length=500, required=False)


class SsoCallbackApi(NoStoreMixin, PublicApi):
    @extend_schema(
        tags=TAGS,
        summary="SSO callback",
        description="Where the provider sends the person back (the redirect URI). Checks the "
        "state, exchanges the code, verifies the ID token (issuer, audience, signature, expiry, "
        "nonce) and the email (verified by the provider, in one of the connection's verified "
        "domains: 403 sso_domain_unverified for a domain not proven yet), creates the account "
        "and membership just in time with the default role (or a pending invitation's role, "
        "which accepts it), and redirects (302) to the landing "
        "page `/sso/complete#code=...` with a one-time code (SSO_CODE_TTL_SECONDS) for "
        "`POST /api/v1/sso/token/`. A client that accepts only `application/json` gets that "
        "address in a 200 body instead.",
        auth=[{}],  # type: ignore[list-item]
        parameters=[SsoCallbackQuery],
        responses={
            200: SsoRedirectOutput,
            302: OpenApiResponse(description="To /sso/complete with a one-time code."),
            **E400,
            414: error_doc(
                "The request line is longer than 4094 bytes (uri_too_long): a provider's "
                "answer that long is refused by the server in front of the app."
            ),
            **E401,
            **E402,
            **E403,
            **E404,
        },
    )
    def get(self, request: Request) -> Response:
        query = self.query(SsoCallbackQuery)
        one_time = sso_login_complete(
            tenant=_tenant(request),
            state=query["state"],
            code=query.get("code", ""),
            error=query.get("error", ""),
        )
        landing = settings.FRONTEND_URL.format(host=request.get_host()) + "/sso/complete"
        # In the fragment: browsers send it to no server (no logs, no Referer).
        return _redirect(request, f"{landing}#code={one_time}")


def _redirect(request: Request, url: str) -> Response:
    """A 302 to `url` (with the target in a JSON body too, as every API answer is JSON), or
    a 200 with only the body for a client that asked for JSON alone."""
    if _wants_json(request):
        return Response({"location": url})
    return Response({"location": url}, status=302, headers={"Location": url})


class SsoTokenOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    user = UserDetailsSerializer()


class SsoTokenApi(NoStoreMixin, PublicApi):
    throttle_classes = throttles("login")[:1]

    class SsoTokenInput(StrictSerializer):
        code = serializers.CharField(max_length=200, help_text="From /sso/complete#code=.")

    @extend_schema(
        tags=TAGS,
        summary="Exchange an SSO sign-in code for tokens",
        description="The one-time code the callback handed to the landing page, once, on this "
        "organization's host, for the JWT pair bound to this organization (as `auth/login/` "
        "returns).",
        auth=[{}],  # type: ignore[list-item]
        request=SsoTokenInput,
        responses={200: SsoTokenOutput, **E400, **E401, **E404, **E429},
    )
    def post(self, request: Request) -> Response:
        data = self.validate(self.SsoTokenInput, request)
        signed_in = sso_token_exchange(tenant=_tenant(request), code=data["code"])
        refresh = signed_in.refresh
        return Response(
            {
                "access": str(refresh.access_token),
                "refresh": str(refresh),
                "user": UserDetailsSerializer(signed_in.user, context={"request": request}).data,
            }
        )
