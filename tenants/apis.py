from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import PublicApi
from api.docs import ERRORS_PUBLIC_WRITE
from api.serializers import StrictSerializer

from .services import organization_signup


class TenantOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class OwnerOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()


class SignupOutput(serializers.Serializer):
    tenant = TenantOutput()
    domain = serializers.CharField(help_text="Host of the new organization's API.")
    owner = OwnerOutput()


class SignupApi(PublicApi):
    class SignupInput(StrictSerializer):
        name = serializers.CharField(max_length=100, help_text="Organization name.")
        slug = serializers.CharField(
            max_length=40, help_text="Subdomain: 3-40 lower-case letters, digits, hyphens."
        )
        email = serializers.EmailField(max_length=254, help_text="The owner's email.")
        password = serializers.CharField(
            max_length=128, write_only=True, style={"input_type": "password"}
        )

    @extend_schema(
        tags=["signup"],
        summary="Create an organization",
        description=(
            "Creates the organization (tenant), its domain `<slug>.<BASE_DOMAIN>`, its schema "
            "and its owner in one transaction: on any error nothing is left behind."
        ),
        request=SignupInput,
        responses={201: SignupOutput, **ERRORS_PUBLIC_WRITE},
        examples=[
            OpenApiExample(
                "Signup",
                value={
                    "name": "Acme",
                    "slug": "acme",
                    "email": "owner@acme.test",
                    "password": "correct-horse-battery",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.validate(self.SignupInput, request)
        signup = organization_signup(**data)
        body = SignupOutput(
            {"tenant": signup.tenant, "domain": signup.domain, "owner": signup.owner}
        ).data
        return Response(body, status=201)
