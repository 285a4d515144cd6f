from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.services import password_check_strength
from api.base import PublicApi
from api.docs import ERRORS_PUBLIC_WRITE, error_doc
from api.serializers import StrictSerializer
from api.throttling import SignupDomainThrottle, SignupIpThrottle
from saas.validators import single_line

from .challenge import signup_challenge_verify
from .organizations import organization_signup
from .validation import SLUG_PATTERN, slug_validate


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


@extend_schema_field({"type": "string", "pattern": SLUG_PATTERN, "maxLength": 40})
class SlugField(serializers.CharField):
    """A slug as typed: its rules are the schema's pattern; slug_validate applies them (and
    the reserved names, which only the server knows). Not trimmed: " acme" is refused, as
    the pattern says."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=40, trim_whitespace=False, **kwargs)


class SignupApi(PublicApi):
    throttle_classes = [SignupIpThrottle, SignupDomainThrottle]

    class SignupInput(StrictSerializer):
        name = serializers.CharField(
            max_length=100, help_text="Organization name.", validators=[single_line]
        )
        slug = SlugField(help_text="Subdomain: 3-40 lower-case letters, digits, hyphens.")
        email = serializers.EmailField(max_length=254, help_text="The owner's email.")
        password = serializers.CharField(
            max_length=128, write_only=True, style={"input_type": "password"}
        )
        challenge = serializers.CharField(
            required=False,
            max_length=4096,
            write_only=True,
            help_text=(
                "A bot-defence token (CAPTCHA, Turnstile, proof of work) for the operator's "
                "SIGNUP_CHALLENGE_VERIFIER; ignored when none is configured."
            ),
        )

        # The service checks these again; here they are reported with the other fields.
        def validate_slug(self, slug: str) -> str:
            return slug_validate(slug)

        def validate_password(self, password: str) -> str:
            email = self.initial_data.get("email")
            email = User.objects.normalize_email(email).lower() if isinstance(email, str) else ""
            password_check_strength(password=password, user=User(email=email))
            return password

    def check_throttles(self, request: Request) -> None:
        # One after the other, IP first, stopping at the first refusal: a request refused by
        # one throttle is not counted by the next, so a client over its own rate cannot spend
        # a company domain's budget for everyone else.
        for throttle in self.get_throttles():
            if not throttle.allow_request(request, self):
                self.throttled(request, throttle.wait() or 1.0)

    @extend_schema(
        tags=["signup"],
        summary="Create an organization",
        description=(
            "Creates the organization (tenant), its domain `<slug>.<BASE_DOMAIN>`, its schema "
            "and its owner in one transaction: on any error nothing is left behind. "
            "Throttled per client IP and per domain of the owner's email (429 with "
            "Retry-After). A registered email is 409 `email_taken`, a taken slug 409 "
            "`slug_taken`. With a bot-defence verifier configured, a request it refuses is "
            "403 (or 400) `challenge_failed`."
        ),
        request=SignupInput,
        responses={
            201: SignupOutput,
            **ERRORS_PUBLIC_WRITE,
            403: error_doc("The bot-defence challenge was not passed (challenge_failed)."),
        },
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
        # After the cheap input checks (a typo does not spend a one-use token), before any
        # lookup that could reveal a taken email or slug, and before anything is made.
        signup_challenge_verify(request)
        data.pop("challenge", None)
        signup = organization_signup(**data)
        body = SignupOutput(
            {"tenant": signup.tenant, "domain": signup.domain, "owner": signup.owner}
        ).data
        return Response(body, status=201)
