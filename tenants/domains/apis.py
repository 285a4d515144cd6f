"""/api/v1/domains/ on an organization's host (its owners and admins), and the TLS front's
question on the public host: may it get a certificate for this name? (/api/v1/tls/ask/)."""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import Capability
from accounts.tenant_api import TenantApi
from api.base import PublicApi
from api.docs import E5XX, E400, E402, E409, ERRORS_READ, ERRORS_WRITE, error_doc, paginated
from api.serializers import ChoiceField, PageQuery, QuerySerializer, StrictSerializer
from saas.errors import NotFound

from .checks import http_url, txt_record_name
from .hostnames import hostname_normalize
from .models import CustomDomain, DomainStatus, VerificationMethod
from .selectors import custom_domain_get, custom_domain_list, tls_host_allowed
from .services import custom_domain_add, custom_domain_remove, custom_domain_verify

TAGS = ["custom domains"]
# Domains are organization settings, like its CORS origins: PATCH /organization/ asks the same.
MANAGE = {method: Capability.MEMBERS_MANAGE for method in ("GET", "POST", "DELETE")}


class CustomDomainDnsRecordOutput(serializers.Serializer):
    type = serializers.CharField(help_text="Always TXT.")
    name = serializers.CharField(help_text="The record's name: `_saas-challenge.<hostname>`.")
    value = serializers.CharField(help_text="The record's value: the token.")


class CustomDomainHttpTokenOutput(serializers.Serializer):
    url = serializers.CharField(help_text="Where the token must be served (plain HTTP, port 80).")
    body = serializers.CharField(help_text="The answer's whole body: the token (status 200).")


class CustomDomainVerificationOutput(serializers.Serializer):
    dns = CustomDomainDnsRecordOutput(help_text="Publish this TXT record, or ...")
    http = CustomDomainHttpTokenOutput(help_text="... serve this token from the host itself.")


class CustomDomainOutput(serializers.Serializer):
    id = serializers.IntegerField()
    hostname = serializers.CharField(help_text="Normalized: lower-case, IDNA (xn--) form.")
    status = ChoiceField(
        choices=DomainStatus.choices,
        help_text="pending: not routed yet; verified: requests to it reach this organization.",
    )
    verified_by = ChoiceField(choices=VerificationMethod.choices, allow_null=True)
    verified_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    verification = serializers.SerializerMethodField()

    @extend_schema_field(CustomDomainVerificationOutput)
    def get_verification(self, domain: CustomDomain) -> dict[str, dict[str, str]]:
        return {
            "dns": {"type": "TXT", "name": txt_record_name(domain.hostname), "value": domain.token},
            "http": {"url": http_url(domain.hostname), "body": domain.token},
        }

    def to_representation(self, instance: CustomDomain) -> dict:
        data = dict(super().to_representation(instance))
        data["verified_by"] = instance.verified_by or None  # stored blank until verified
        return data


_EXAMPLE = OpenApiExample(
    "A domain waiting for its DNS record",
    value={
        "id": 7,
        "hostname": "app.customer.example",
        "status": "pending",
        "verified_by": None,
        "verified_at": None,
        "created_at": "2026-11-30T10:00:00Z",
        "verification": {
            "dns": {
                "type": "TXT",
                "name": "_saas-challenge.app.customer.example",
                "value": "3q2-7wE...",
            },
            "http": {
                "url": "http://app.customer.example/.well-known/saas-domain-verification",
                "body": "3q2-7wE...",
            },
        },
    },
    response_only=True,
)


class CustomDomainListAddApi(TenantApi):
    capabilities = MANAGE

    class CustomDomainCreateInput(StrictSerializer):
        hostname = serializers.CharField(
            max_length=300,
            help_text="A host name of yours, such as app.example.com (no scheme, port or "
            "path; internationalized names are stored in their xn-- form).",
        )

    @extend_schema(
        tags=TAGS,
        summary="List custom domains",
        operation_id="domains_list",
        description="The organization's custom domains, verified or not, by host name.",
        parameters=[PageQuery],
        responses={
            200: paginated(CustomDomainOutput, name="PaginatedCustomDomainList"),
            **E400,
            **ERRORS_READ,
        },
    )
    def get(self, request: Request) -> Response:
        return self.paginate(custom_domain_list(tenant=self.tenant), CustomDomainOutput)

    @extend_schema(
        tags=TAGS,
        summary="Add a custom domain",
        operation_id="domains_add",
        description="Owners and admins, on plans with the custom_domains feature (402 "
        "otherwise). Answers 201 with Location. The domain is pending: it routes only once "
        "verified (POST .../verify/) with the TXT record or HTTP token the answer shows. "
        "Refused (400): "
        "IP addresses, localhost, single labels, this platform's own names; (409) a name "
        "another organization has added (domain_taken) or this one has (domain_exists).",
        request=CustomDomainCreateInput,
        responses={201: CustomDomainOutput, **ERRORS_WRITE, **E402, **E409},
        examples=[
            OpenApiExample(
                "Add a domain", value={"hostname": "app.customer.example"}, request_only=True
            ),
            _EXAMPLE,
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.validate(self.CustomDomainCreateInput, request)
        domain = custom_domain_add(tenant=self.tenant, hostname=data["hostname"])
        location = request.build_absolute_uri(f"{request.path}{domain.pk}/")
        return Response(CustomDomainOutput(domain).data, status=201, headers={"Location": location})


class CustomDomainDetailApi(TenantApi):
    capabilities = MANAGE

    @extend_schema(
        tags=TAGS,
        summary="Get a custom domain",
        operation_id="domains_retrieve",
        description="Its status and how to verify it: the TXT record to publish, or the "
        "token to serve over HTTP.",
        responses={200: CustomDomainOutput, **ERRORS_READ},
        examples=[_EXAMPLE],
    )
    def get(self, request: Request, domain_id: int) -> Response:
        domain = custom_domain_get(tenant=self.tenant, domain_id=domain_id)
        return Response(CustomDomainOutput(domain).data)

    @extend_schema(
        tags=TAGS,
        summary="Remove a custom domain",
        operation_id="domains_remove",
        description="Requests to it are refused (404, as for any unknown host) from the next "
        "request on, and the TLS front gets no new certificate for it. Allowed on any plan.",
        responses={204: None, **ERRORS_WRITE},
    )
    def delete(self, request: Request, domain_id: int) -> Response:
        custom_domain_remove(tenant=self.tenant, domain_id=domain_id)
        return Response(status=204)


class CustomDomainVerifyApi(TenantApi):
    capabilities = {"POST": Capability.MEMBERS_MANAGE}

    @extend_schema(
        tags=TAGS,
        summary="Verify a custom domain",
        operation_id="domains_verify",
        description="Checks now: the TXT record at `_saas-challenge.<hostname>`, then "
        "`http://<hostname>/.well-known/saas-domain-verification` (no redirects followed). "
        "On success the domain is verified and routes to this organization from the next "
        "request; a verified domain answers as it is. 409 domain_not_verified says what "
        "each check found (`checks`), and nothing changes.",
        request=None,
        responses={200: CustomDomainOutput, **ERRORS_WRITE, **E402, **E409},
    )
    def post(self, request: Request, domain_id: int) -> Response:
        domain = custom_domain_verify(tenant=self.tenant, domain_id=domain_id)
        return Response(CustomDomainOutput(domain).data)


class TlsAskQuery(QuerySerializer):
    domain = serializers.CharField(
        max_length=300, help_text="The host name a TLS client asked for (SNI)."
    )


class TlsAskOutput(serializers.Serializer):
    domain = serializers.CharField(help_text="The host name, normalized.")


class TlsAskApi(PublicApi):
    """Caddy's on_demand_tls `ask`: 200 allows a certificate, anything else refuses it."""

    @extend_schema(
        tags=TAGS,
        summary="May the TLS front get a certificate for this host?",
        operation_id="tls_ask",
        description="For an on-demand TLS front (Caddy's `on_demand_tls { ask ... }`): 200 "
        "for a host this deployment serves (an organization's own host or verified custom "
        "domain), 404 domain_not_served for any other, so nobody can make the front ask a "
        "certificate authority for names of their choosing. Says nothing else about the host.",
        parameters=[TlsAskQuery],
        responses={
            200: TlsAskOutput,
            **E400,
            404: error_doc("Not a host this deployment serves (domain_not_served)."),
            **E5XX,
        },
    )
    def get(self, request: Request) -> Response:
        query = self.query(TlsAskQuery)
        if not tls_host_allowed(hostname=query["domain"]):
            raise NotFound("No certificate for this host.", code="domain_not_served")
        return Response({"domain": hostname_normalize(query["domain"])})
