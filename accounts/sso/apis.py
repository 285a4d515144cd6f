"""Single sign-on on a tenant host, under /api/v1/sso/: the connection (owner and admins),
and the login (anyone: it is how a person proves who they are). The login's answers are
redirects, to the provider and back to the landing page /sso/complete, which exchanges the
one-time code in its URL fragment for the JWT pair at sso/token/: tokens never travel in a
URL. A SAML 2.0 connection starts at the same login URL (an AuthnRequest to the IdP) and
comes back to the assertion consumer service sso/saml/acs/ (the IdP's HTTP-POST), which ends
the same way; sso/saml/metadata/ is our SP metadata for the IdP."""

import base64
import hashlib
import html
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.parsers import FormParser
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
from api.parsers import JSONParser
from api.serializers import ChoiceField, QuerySerializer, StrictSerializer
from api.throttling import throttles
from saas.errors import NotFound
from saas.security import docs_policy
from tenants.domains.checks import http_url, txt_record_name

from ..roles import ASSIGNABLE_ROLE_CHOICES, Capability
from ..serializers import UserDetailsSerializer
from .domains import HTTP_PATH as DOMAIN_HTTP_PATH
from .domains import sso_domain_verify
from .models import Policy, Protocol, SsoConnection, SsoDomain, VerificationMethod
from .saml import POST, REDIRECT, ServiceProvider, sp_metadata
from .selectors import sso_connection_get
from .services import (
    sso_connection_configure,
    sso_connection_delete,
    sso_login_begin,
    sso_login_complete,
    sso_saml_connection_configure,
    sso_saml_login_complete,
    sso_token_exchange,
)

TAGS = ["sso"]
MANAGE = {method: Capability.MEMBERS_MANAGE for method in ("GET", "PUT", "DELETE")}
CALLBACK_PATH = "/api/v1/sso/callback/"
SAML_METADATA_PATH = "/api/v1/sso/saml/metadata/"
SAML_ACS_PATH = "/api/v1/sso/saml/acs/"


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


def service_provider(request: Request) -> ServiceProvider:
    """Our SAML side on this tenant host: the entity id is our metadata's URL."""
    return ServiceProvider(
        entity_id=request.build_absolute_uri(SAML_METADATA_PATH),
        acs_url=request.build_absolute_uri(SAML_ACS_PATH),
    )


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
    idp_entity_id = serializers.CharField(help_text="SAML: the IdP's entity id (Issuer).")
    idp_sso_url = serializers.CharField(help_text="SAML: where AuthnRequests are sent.")
    idp_sso_binding = ChoiceField(
        choices=[(REDIRECT, "HTTP-Redirect"), (POST, "HTTP-POST")],
        allow_blank=True,
        help_text="SAML: how (HTTP-Redirect, or an auto-submitted HTTP-POST form).",
    )
    idp_metadata_url = serializers.CharField(
        help_text="SAML: where the metadata was fetched (empty when given as XML)."
    )
    idp_certificate_fingerprints = serializers.SerializerMethodField(
        help_text="SAML: SHA-256 fingerprints of the IdP's signing certificates."
    )
    sp_entity_id = serializers.SerializerMethodField(
        help_text="SAML: our entity id (the Audience the IdP must name); also our metadata's URL."
    )
    acs_url = serializers.SerializerMethodField(
        help_text="SAML: our assertion consumer service (HTTP-POST), the Destination and "
        "Recipient the IdP must name."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_idp_certificate_fingerprints(self, connection: SsoConnection) -> list[str]:
        return [
            hashlib.sha256(base64.b64decode(c)).digest().hex(":").upper()
            for c in connection.idp_certificates
        ]

    def get_sp_entity_id(self, connection: SsoConnection) -> str:
        return service_provider(self.context["request"]).entity_id

    def get_acs_url(self, connection: SsoConnection) -> str:
        return service_provider(self.context["request"]).acs_url

    def get_has_client_secret(self, connection: SsoConnection) -> bool:
        return bool(connection.client_secret_encrypted)

    def get_redirect_uri(self, connection: SsoConnection) -> str:
        return callback_url(self.context["request"])

    def get_login_url(self, connection: SsoConnection) -> str:
        return self.context["request"].build_absolute_uri("/api/v1/sso/login/")


class SsoConnectionApi(NoStoreMixin, TenantApi):
    capabilities = MANAGE

    class SsoConnectionInput(StrictSerializer):
        protocol = ChoiceField(
            choices=Protocol.choices,
            default=Protocol.OIDC,
            help_text="oidc (issuer, client_id, client_secret) or saml (idp_metadata_xml or "
            "idp_metadata_url).",
        )
        issuer = serializers.URLField(
            max_length=2000,
            required=False,
            help_text="OIDC, required: the OpenID Connect issuer; its "
            "/.well-known/openid-configuration is fetched and checked (https, a public host).",
        )
        client_id = serializers.CharField(
            max_length=255, required=False, help_text="OIDC, required."
        )
        client_secret = serializers.CharField(
            max_length=2000,
            required=False,
            help_text="OIDC: required the first time; omit it later to keep the stored one. "
            "Stored encrypted, never returned.",
        )
        idp_metadata_xml = serializers.CharField(
            max_length=512 * 1024,  # within the 1 MB body limit (API_MAX_BODY_BYTES)
            required=False,
            trim_whitespace=False,
            help_text="SAML: the IdP's metadata (an EntityDescriptor). No DTD, entity or "
            "external reference is accepted.",
        )
        idp_metadata_url = serializers.URLField(
            max_length=2000,
            required=False,
            help_text="SAML: where to fetch the IdP's metadata instead (https, a public host, "
            "no redirects, at most 1 MB).",
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

        def validate(self, data: dict[str, Any]) -> dict[str, Any]:
            """Each protocol's fields, and none of the other's."""
            if data["protocol"] == Protocol.SAML:
                required: tuple[str, ...] = ()
                foreign: tuple[str, ...] = ("issuer", "client_id", "client_secret")
            else:
                required = ("issuer", "client_id")
                foreign = ("idp_metadata_xml", "idp_metadata_url")
            errors = {name: ["This field is required."] for name in required if name not in data}
            errors.update(
                {
                    name: [f"Not used by a {data['protocol']} connection."]
                    for name in foreign
                    if name in data
                }
            )
            if errors:
                raise serializers.ValidationError(errors)
            return data

    @extend_schema(
        tags=TAGS,
        summary="Get the SSO connection",
        description="The organization's connection, OpenID Connect (the client secret is never "
        "shown, the redirect URI to register at the provider) or SAML 2.0 (the IdP's entity "
        "id, SSO URL and certificate fingerprints; our SP entity id and ACS URL for the IdP).",
        responses={200: SsoConnectionOutput, **ERRORS_READ},
    )
    def get(self, request: Request) -> Response:
        connection = sso_connection_get(tenant=self.tenant)
        return Response(SsoConnectionOutput(connection, context={"request": request}).data)

    @extend_schema(
        tags=TAGS,
        summary="Configure the SSO connection",
        description="Creates or replaces the organization's connection. OpenID Connect: the "
        "issuer's discovery document and keys are fetched and checked first. SAML 2.0 "
        "(`protocol: saml`): the IdP metadata, given as XML or fetched from a URL, is parsed "
        "(no DTD, entity or external reference: 400 `sso_metadata_invalid`) for the entity id, "
        "SSO URL and signing certificates. A domain another organization has verified is 409 "
        "`sso_domain_claimed`; nothing is saved unless all of it is valid. Needs the plan's "
        "`sso` feature (402). New domains are recorded unverified (kept ones keep their "
        "state): prove each with `POST /api/v1/sso/domains/<domain>/verify/`.",
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
            ),
            OpenApiExample(
                "SAML, metadata by URL",
                value={
                    "protocol": "saml",
                    "idp_metadata_url": "https://idp.acme.example/saml/metadata",
                    "domains": ["acme.test"],
                    "policy": "optional",
                    "default_role": "member",
                },
                request_only=True,
            ),
        ],
    )
    def put(self, request: Request) -> Response:
        data = self.validate(self.SsoConnectionInput, request)
        if data["protocol"] == Protocol.SAML:
            connection = sso_saml_connection_configure(
                tenant=self.tenant,
                metadata_xml=data.get("idp_metadata_xml"),
                metadata_url=data.get("idp_metadata_url"),
                domains=data["domains"],
                policy=data["policy"],
                default_role=data["default_role"],
            )
            return Response(SsoConnectionOutput(connection, context={"request": request}).data)
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


class SsoLoginOutput(SsoRedirectOutput):
    form = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text="SAML with the HTTP-POST binding only: the fields (SAMLRequest, RelayState) "
        "a browser would have posted to `location`.",
    )


class SsoLoginApi(NoStoreMixin, PublicApi):
    throttle_classes = throttles("login")[:1]  # per IP: each start stores a login state

    @extend_schema(
        tags=TAGS,
        summary="Start an SSO login",
        description="Redirects (302) to the organization's identity provider, with state, "
        "nonce and PKCE (S256) kept server-side for this organization, single use, for "
        "SSO_LOGIN_TTL_SECONDS. On a SAML connection: an AuthnRequest by the HTTP-Redirect "
        "binding (302), or a page that posts it (HTTP-POST binding), with a RelayState kept "
        "the same way and the request's ID for the answer's InResponseTo. A client that "
        "accepts only `application/json` gets the URL (and the form) in a 200 body instead.",
        auth=[{}],  # type: ignore[list-item]
        parameters=[SsoLoginQuery],
        responses={
            (200, "application/json"): SsoLoginOutput,
            (200, "text/html"): OpenApiResponse(
                OpenApiTypes.STR,
                description="SAML, HTTP-POST binding: a page that posts the AuthnRequest.",
            ),
            302: OpenApiResponse(description="To the provider's authorization endpoint."),
            **E400,
            **E401,
            **E402,
            **E404,
            **E429,
        },
    )
    def get(self, request: Request) -> Response | HttpResponse:
        query = self.query(SsoLoginQuery)
        start = sso_login_begin(
            tenant=_tenant(request),
            redirect_uri=callback_url(request),
            sp=service_provider(request),
            email=query.get("email", ""),
        )
        if start.form is None:
            return _redirect(request, start.url)
        if _wants_json(request):
            return Response({"location": start.url, "form": start.form})
        return _post_page(start.url, start.form)


# Posts the AuthnRequest at once; the button is there for a browser without scripts.
_POST_PAGE = (
    '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">'
    "<title>Signing in</title>"
    '<form id="saml" method="post" action="{action}">{fields}'
    "<p>Continue to your identity provider.</p><button>Continue</button></form>"
    "<script>document.getElementById('saml').submit()</script>"
)


def _post_page(url: str, form: dict[str, str]) -> HttpResponse:
    fields = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in form.items()
    )
    page = _POST_PAGE.format(action=html.escape(url), fields=fields).encode()
    response = HttpResponse(page, content_type="text/html; charset=utf-8")
    idp = urlsplit(url)
    # Its one inline script by hash, and its form may lead to the IdP's origin only.
    response["Content-Security-Policy"] = docs_policy(
        page, form_action=f"'self' {idp.scheme}://{idp.netloc}"
    )
    return response


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


class SamlMetadataApi(PublicApi):
    @extend_schema(
        tags=TAGS,
        summary="Our SAML SP metadata",
        description="This organization's service provider metadata, for its IdP: our entity "
        "id (this URL) and the assertion consumer service (HTTP-POST). Public, as metadata is.",
        auth=[{}],  # type: ignore[list-item]
        responses={
            (200, "application/samlmetadata+xml"): OpenApiResponse(OpenApiTypes.STR),
            **E401,
            **E404,
        },
    )
    def get(self, request: Request) -> HttpResponse:
        _tenant(request)
        xml = sp_metadata(service_provider(request))
        return HttpResponse(xml, content_type="application/samlmetadata+xml; charset=utf-8")


class SamlAcsApi(NoStoreMixin, PublicApi):
    # The HTTP-POST binding: a form the IdP's page submits (JSON too, as every API write).
    parser_classes = [FormParser, JSONParser]
    throttle_classes = throttles("login")[:1]

    class SamlAcsInput(StrictSerializer):
        SAMLResponse = serializers.CharField(  # noqa: N815 - the binding's field name
            max_length=512 * 1024, help_text="The IdP's response, base64."
        )
        RelayState = serializers.CharField(  # noqa: N815
            max_length=100, help_text="As sent with the AuthnRequest."
        )

    @extend_schema(
        tags=TAGS,
        summary="SAML assertion consumer service",
        description="Where the IdP posts its answer (HTTP-POST binding). Spends the RelayState "
        "(this organization's login, once), verifies the response (signature by the IdP's "
        "certificate on the Response or the Assertion, Issuer, Audience, Destination and "
        "Recipient, InResponseTo, validity window) and the email (NameID or an email "
        "attribute, in the connection's domains), creates the account and membership just in "
        "time with the default role, and redirects (302) to `/sso/complete#code=...` as the "
        "OIDC callback does. A client that accepts only `application/json` gets that address "
        "in a 200 body instead.",
        auth=[{}],  # type: ignore[list-item]
        request={
            "application/x-www-form-urlencoded": SamlAcsInput,
            "application/json": SamlAcsInput,
        },
        responses={
            200: SsoRedirectOutput,
            302: OpenApiResponse(description="To /sso/complete with a one-time code."),
            **E400,
            **E401,
            **E402,
            **E403,
            **E404,
            **E429,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.validate(self.SamlAcsInput, request)
        one_time = sso_saml_login_complete(
            tenant=_tenant(request),
            relay_state=data["RelayState"],
            saml_response=data["SAMLResponse"],
            sp=service_provider(request),
        )
        landing = settings.FRONTEND_URL.format(host=request.get_host()) + "/sso/complete"
        return _redirect(request, f"{landing}#code={one_time}")


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
