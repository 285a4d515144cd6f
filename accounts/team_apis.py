"""Members and invitations of the tenant whose host is called."""

from typing import Any

from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.tenant_api import TenantApi
from api.base import BaseApi
from api.docs import (
    E400,
    E401,
    E402,
    E403,
    E404,
    E409,
    E410,
    E413,
    E429,
    ERRORS_READ,
    ERRORS_WRITE,
    paginated,
)
from api.no_store import NoStoreMixin
from api.serializers import ChoiceField, PageQuery, StrictSerializer
from api.throttling import throttles
from saas.errors import NotFound
from saas.validators import single_line

from .mfa.selectors import mfa_enrolled
from .models import Invitation, Role
from .permissions import HasTenantCapability, IsTenantSession
from .roles import ASSIGNABLE_ROLE_CHOICES, Capability
from .selectors import invitation_list_pending, membership_list
from .services import (
    invitation_accept,
    invitation_create,
    invitation_revoke,
    membership_change_role,
    membership_remove,
    ownership_transfer,
)
from .sso.services import sso_invitation_accept_check
from .tokens import tenant_tokens_issue

C = Capability
ROLES = ASSIGNABLE_ROLE_CHOICES


class MemberOutput(serializers.Serializer):
    user_id = serializers.IntegerField()
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(source="user.full_name")
    role = ChoiceField(choices=Role.choices)
    joined_at = serializers.DateTimeField(source="created_at")


class MemberListQuery(PageQuery):
    role = ChoiceField(
        choices=Role.choices, required=False, allow_blank=True, help_text="Only this role."
    )


class MemberListApi(TenantApi):
    capabilities = {"GET": C.MEMBERS_READ}

    @extend_schema(
        tags=["members"],
        summary="List members",
        description="Everyone in this organization with their role, oldest member first; "
        "`role` narrows the list to one role.",
        operation_id="members_list",
        parameters=[MemberListQuery],
        responses={
            200: paginated(MemberOutput, name="PaginatedMemberList"),
            **E400,
            **ERRORS_READ,
        },
    )
    def get(self, request: Request) -> Response:
        role = self.query(MemberListQuery).get("role") or None  # the fuzzer found "AAA" ignored
        return self.paginate(membership_list(tenant=self.tenant, role=role), MemberOutput)


class MemberDetailApi(TenantApi):
    capabilities = {"PATCH": C.MEMBERS_MANAGE, "DELETE": C.MEMBERS_MANAGE}

    class MemberUpdateInput(StrictSerializer):
        # Validated whole, not as drf-spectacular's partial "Patched" body: role is required.
        complete_on_patch = True
        role = ChoiceField(choices=ROLES)

    @extend_schema(
        tags=["members"],
        summary="Change a member's role",
        description="Admins grant up to admin; the owner's role changes only by transfer.",
        request=MemberUpdateInput,
        examples=[OpenApiExample("Make admin", value={"role": "admin"}, request_only=True)],
        responses={200: MemberOutput, **ERRORS_WRITE, **E409},
    )
    def patch(self, request: Request, user_id: int) -> Response:
        data = self.validate(self.MemberUpdateInput, request)
        membership = membership_change_role(
            tenant=self.tenant, by_role=self.grant.role, user_id=user_id, role=data["role"]
        )
        return Response(MemberOutput(membership).data)

    @extend_schema(
        tags=["members"],
        summary="Remove a member",
        description="Ends the membership: the member's tokens are refused here from the next "
        "request. The owner cannot be removed (409): transfer ownership first.",
        responses={204: None, **ERRORS_WRITE, **E409},
    )
    def delete(self, request: Request, user_id: int) -> Response:
        membership_remove(tenant=self.tenant, user_id=user_id)
        return Response(status=204)


class MemberLeaveApi(TenantApi):
    """Any member may leave, except the owner (who transfers ownership first). Leaving needs
    the person's own login, like changing the account: never an application's token."""

    permission_classes = [IsAuthenticated, IsTenantSession, HasTenantCapability]
    capabilities = {"DELETE": C.MEMBERSHIP_SELF}

    @extend_schema(
        tags=["members"],
        operation_id="members_leave",
        summary="Leave this organization",
        description="Ends the caller's own membership; the owner must transfer ownership "
        "first. Needs the person's own login: an OAuth2 application's token is refused (403).",
        auth=[{"jwtAuth": []}],  # type: ignore[list-item]  # a person's login only
        responses={204: None, **E401, **E403, **E404, **E409, **E429},
    )
    def delete(self, request: Request) -> Response:
        membership_remove(tenant=self.tenant, user_id=self.grant.user_id)
        return Response(status=204)


class OwnershipTransferApi(TenantApi):
    capabilities = {"POST": C.OWNERSHIP_TRANSFER}

    class OwnershipTransferInput(StrictSerializer):
        user_id = serializers.IntegerField(help_text="The member who becomes owner.")

    @extend_schema(
        tags=["members"],
        summary="Transfer ownership",
        description="The named member becomes owner; the current owner becomes admin.",
        request=OwnershipTransferInput,
        responses={200: MemberOutput, **ERRORS_WRITE},
        examples=[OpenApiExample("To member 12", value={"user_id": 12}, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        data = self.validate(self.OwnershipTransferInput, request)
        membership = ownership_transfer(
            tenant=self.tenant, from_user_id=self.grant.user_id, to_user_id=data["user_id"]
        )
        return Response(MemberOutput(membership).data)


class InvitationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.CharField()
    status = serializers.CharField()
    invited_by = serializers.IntegerField(source="invited_by_id", allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    email_status = serializers.SerializerMethodField(
        help_text="failed: the invitation email could not be sent (email_error says why; "
        "invite the address again once fixed). ok: no failure, it was sent or is on its way."
    )
    email_error = serializers.SerializerMethodField(
        help_text="Why the invitation email could not be sent, e.g. the mail server's answer."
    )

    @extend_schema_field(ChoiceField(choices=["ok", "failed"]))
    def get_email_status(self, invitation: Invitation) -> str:
        return "failed" if self.get_email_error(invitation) else "ok"

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_email_error(self, invitation: Invitation) -> str | None:
        # Annotated by invitation_list_pending; a just-created invitation has sent nothing yet.
        return getattr(invitation, "email_error", None)


class InvitationListCreateApi(TenantApi):
    capabilities = {"GET": C.MEMBERS_MANAGE, "POST": C.MEMBERS_MANAGE}

    class InvitationCreateInput(StrictSerializer):
        email = serializers.EmailField(max_length=254)
        role = ChoiceField(choices=ROLES, default=Role.MEMBER)

    def get_throttles(self) -> list:
        if self.request.method == "POST":
            return [throttle() for throttle in throttles("invitations")]
        return []

    @extend_schema(
        tags=["invitations"],
        summary="List pending invitations",
        description="Invitations not yet accepted, revoked or expired, newest first. "
        "`email_status` is `failed` (with `email_error`) when the invitation email could not "
        "be sent.",
        operation_id="invitations_list",
        parameters=[PageQuery],
        responses={
            200: paginated(InvitationOutput, name="PaginatedInvitationList"),
            **E400,
            **ERRORS_READ,
        },
    )
    def get(self, request: Request) -> Response:
        return self.paginate(invitation_list_pending(tenant=self.tenant), InvitationOutput)

    @extend_schema(
        tags=["invitations"],
        summary="Invite someone",
        description="Emails a single-use link that expires; a pending invitation to the same "
        "address is replaced.",
        request=InvitationCreateInput,
        responses={201: InvitationOutput, **ERRORS_WRITE, **E402, **E409},
        examples=[
            OpenApiExample(
                "Invite a member",
                value={"email": "ada@acme.test", "role": "member"},
                request_only=True,
            ),
            OpenApiExample(
                "Invited",
                value={
                    "id": 7,
                    "email": "ada@acme.test",
                    "role": "member",
                    "status": "pending",
                    "invited_by": 1,
                    "created_at": "2026-11-24T09:00:00Z",
                    "expires_at": "2026-11-27T09:00:00Z",
                    "email_status": "ok",
                    "email_error": None,
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.validate(self.InvitationCreateInput, request)
        invitation = invitation_create(
            tenant=self.tenant,
            by=request.user,  # type: ignore[arg-type]
            by_role=self.grant.role,
            host=request.get_host(),
            **data,
        )
        return Response(InvitationOutput(invitation).data, status=201)


class InvitationRevokeApi(TenantApi):
    capabilities = {"DELETE": C.MEMBERS_MANAGE}

    @extend_schema(
        tags=["invitations"],
        summary="Revoke an invitation",
        description="Its link stops working at once. Only a pending invitation can be "
        "revoked: an accepted, revoked or expired one is a 409.",
        responses={204: None, **ERRORS_WRITE, **E409},
    )
    def delete(self, request: Request, invitation_id: int) -> Response:
        invitation_revoke(tenant=self.tenant, invitation_id=invitation_id)
        return Response(status=204)


class InvitationAcceptApi(NoStoreMixin, BaseApi):
    """Public on the tenant host: the emailed token is the credential."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = throttles("invitations")

    class InvitationAcceptInput(StrictSerializer):
        password = serializers.CharField(
            max_length=128,
            trim_whitespace=False,
            help_text="A new account's password, or the existing account's own password.",
        )
        full_name = serializers.CharField(
            max_length=200, required=False, allow_blank=True, validators=[single_line]
        )

    @extend_schema(
        tags=["invitations"],
        summary="Accept an invitation",
        description="Creates the account if the address has none (or links the existing "
        "one, which must give its password), adds the membership and logs in (an account "
        "with two-factor authentication gets no tokens here: it logs in at `auth/login/`, "
        "which asks for the second factor). 403 `sso_required` (with `login_url`) when the "
        "organization enforces single sign-on for the invitee's verified email domain: they "
        "join by signing in there, which accepts the invitation with its role.",
        request=InvitationAcceptInput,
        responses={
            201: MemberOutput,
            **E400,
            **E401,
            **E402,
            **E403,
            **E404,
            **E409,
            **E413,
            **E410,
            **E429,
        },
    )
    def post(self, request: Request, token: str) -> Response:
        tenant = getattr(request, "tenant", None)
        if tenant is None:
            raise NotFound("No such invitation.", code="invitation_not_found")
        data = self.validate(self.InvitationAcceptInput, request)
        membership = invitation_accept(
            tenant=tenant, token=token, policy=sso_invitation_accept_check, **data
        )
        body: dict[str, Any] = dict(MemberOutput(membership).data)
        # The password alone is no login for an account with a second factor (accounts.mfa).
        if not mfa_enrolled(user_id=membership.user_id):
            refresh = tenant_tokens_issue(user=membership.user, tenant=tenant, role=membership.role)
            body.update(access=str(refresh.access_token), refresh=str(refresh))
        return Response(body, status=201)
