"""Tenant admins register the OAuth2 clients of their organization: /api/v1/oauth/applications/
on the tenant host."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.tenant_api import TenantApi
from api.docs import E400, E402, ERRORS_READ, ERRORS_WRITE, paginated
from api.no_store import NoStoreMixin
from api.serializers import ChoiceField, PageQuery, StrictSerializer
from saas.validators import single_line

from ..models import OAuthApplication
from ..roles import Capability
from ..scopes import SCOPE_CHOICES
from .selectors import oauth_application_get, oauth_application_list
from .services import (
    CLIENT_TYPES,
    GRANT_TYPES,
    oauth_application_create,
    oauth_application_delete,
    oauth_application_update,
)

MANAGE = {method: Capability.OAUTH_APPS_MANAGE for method in ("GET", "POST", "PATCH", "DELETE")}
TAGS = ["oauth applications"]


def _redirect_uris_field(**kwargs: object) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=2000),
        max_length=20,
        help_text="Exact redirect URIs (https; http for loopback in development). Required "
        "for the authorization-code grant.",
        **kwargs,  # type: ignore[arg-type]
    )


def _scopes_field(**kwargs: object) -> serializers.ListField:
    return serializers.ListField(
        child=ChoiceField(choices=SCOPE_CHOICES),
        min_length=1,
        help_text="Scopes the client may ask for; you can only grant what your role holds.",
        **kwargs,  # type: ignore[arg-type]
    )


class ApplicationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    client_id = serializers.CharField()
    client_type = ChoiceField(choices=CLIENT_TYPES)
    grant_type = ChoiceField(choices=list(GRANT_TYPES), source="authorization_grant_type")
    redirect_uris = serializers.ListField(child=serializers.CharField(), source="redirect_uri_list")
    scopes = serializers.ListField(
        child=ChoiceField(choices=SCOPE_CHOICES), source="allowed_scope_list"
    )
    created_by = serializers.IntegerField(source="user_id", allow_null=True)
    created_at = serializers.DateTimeField(source="created")
    updated_at = serializers.DateTimeField(source="updated")


class ApplicationCreatedOutput(ApplicationOutput):
    client_secret = serializers.CharField(
        help_text="Shown this once; only a hash is stored. Keep it secret."
    )


class OAuthApplicationListCreateApi(NoStoreMixin, TenantApi):
    capabilities = MANAGE

    class ApplicationCreateInput(StrictSerializer):
        name = serializers.CharField(max_length=255, validators=[single_line])
        grant_type = ChoiceField(
            choices=list(GRANT_TYPES),
            help_text="authorization-code (with PKCE) for apps acting for a user; "
            "client-credentials for machine clients acting as you.",
        )
        client_type = ChoiceField(
            choices=CLIENT_TYPES,
            default=OAuthApplication.CLIENT_CONFIDENTIAL,
            help_text="public: a browser or native app that cannot keep a secret "
            "(authorization-code only).",
        )
        redirect_uris = _redirect_uris_field(default=list)
        scopes = _scopes_field(default=["read"])

    @extend_schema(
        tags=TAGS,
        summary="List OAuth applications",
        operation_id="oauth_applications_list",
        description="The organization's registered OAuth2 clients (secrets are never shown).",
        parameters=[PageQuery],
        responses={
            200: paginated(ApplicationOutput, name="PaginatedApplicationList"),
            **E400,
            **ERRORS_READ,
        },
    )
    def get(self, request: Request) -> Response:
        return self.paginate(oauth_application_list(tenant=self.tenant), ApplicationOutput)

    @extend_schema(
        tags=TAGS,
        summary="Register an OAuth application",
        description="Returns the client secret once. Tokens the client obtains are valid on "
        "this organization's host only.",
        request=ApplicationCreateInput,
        responses={201: ApplicationCreatedOutput, **ERRORS_WRITE, **E402},
        examples=[
            OpenApiExample(
                "A web app (authorization code + PKCE)",
                value={
                    "name": "Calendar sync",
                    "grant_type": "authorization-code",
                    "redirect_uris": ["https://calendar.example/callback"],
                    "scopes": ["read", "write"],
                },
                request_only=True,
            ),
            OpenApiExample(
                "A machine client (client credentials)",
                value={"name": "Nightly export", "grant_type": "client-credentials"},
                request_only=True,
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.validate(self.ApplicationCreateInput, request)
        registered = oauth_application_create(
            tenant=self.tenant,
            user_id=self.grant.user_id,
            by_role=self.grant.role,
            name=data["name"],
            grant_type=GRANT_TYPES[data["grant_type"]],
            client_type=data["client_type"],
            redirect_uris=data["redirect_uris"],
            scopes=data["scopes"],
        )
        body = dict(ApplicationOutput(registered.application).data)
        body["client_secret"] = registered.client_secret
        return Response(body, status=201)


class OAuthApplicationDetailApi(TenantApi):
    capabilities = MANAGE

    class ApplicationUpdateInput(StrictSerializer):
        name = serializers.CharField(max_length=255, required=False, validators=[single_line])
        redirect_uris = _redirect_uris_field(required=False)
        scopes = _scopes_field(required=False)

    @extend_schema(
        tags=TAGS,
        summary="Get an OAuth application",
        description="Its client id, redirect URIs, scopes and grant type; the client secret "
        "is shown only once, when the application is registered.",
        responses={200: ApplicationOutput, **ERRORS_READ},
    )
    def get(self, request: Request, application_id: int) -> Response:
        application = oauth_application_get(tenant=self.tenant, application_id=application_id)
        return Response(ApplicationOutput(application).data)

    @extend_schema(
        tags=TAGS,
        summary="Update an OAuth application",
        description="Name, redirect URIs and scopes; narrowing the scopes also narrows "
        "tokens already issued. The grant type and client type are fixed.",
        request=ApplicationUpdateInput,
        responses={200: ApplicationOutput, **ERRORS_WRITE},
    )
    def patch(self, request: Request, application_id: int) -> Response:
        data = self.validate(self.ApplicationUpdateInput, request)
        application = oauth_application_update(
            tenant=self.tenant, application_id=application_id, by_role=self.grant.role, **data
        )
        return Response(ApplicationOutput(application).data)

    @extend_schema(
        tags=TAGS,
        summary="Delete an OAuth application",
        description="Revokes every token and authorization code it holds.",
        responses={204: None, **ERRORS_WRITE},
    )
    def delete(self, request: Request, application_id: int) -> Response:
        oauth_application_delete(tenant=self.tenant, application_id=application_id)
        return Response(status=204)
