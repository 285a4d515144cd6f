"""One object of every model the operator admin shows (tests/ops, tests/browser)."""

import uuid
from datetime import timedelta

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib.auth.models import Group
from django.contrib.sites.models import Site
from django.db.models import Model
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant, IDToken, RefreshToken
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import Membership, OAuthApplication, Role, User
from accounts.services import membership_create
from accounts.tokens import tenant_tokens_issue
from billing.models import BillingAccount, Plan, WebhookEvent, WebhookNotification
from saas.emails.models import EmailFailure
from saas.emails.services import email_failure_record
from tenants.models import Domain, Tenant
from tests.factories import make_organization, make_user


def admin_samples() -> dict[type[Model], Model]:
    """One object of every model the admin shows, made the way the product makes it where
    a service exists."""
    tenant = make_organization("acme")
    owner = make_user(email="owner@acme.test")
    membership = membership_create(user=owner, tenant_id=tenant.pk, role=Role.OWNER)
    refresh = tenant_tokens_issue(user=owner, tenant=tenant, role=Role.OWNER)
    refresh.blacklist()
    account = BillingAccount.objects.get(tenant=tenant)
    event = WebhookEvent.objects.create(
        stripe_event_id="evt_admin_1",
        type="invoice.paid",
        stripe_created=1_700_000_000,
        payload={"id": "evt_admin_1", "type": "invoice.paid"},
        account=account,
    )
    WebhookNotification.objects.create(event=event, kind="receipt", recipients=[owner.email])
    application = OAuthApplication.objects.create(
        tenant=tenant,
        user=owner,
        name="Acme CLI",
        client_type=OAuthApplication.CLIENT_CONFIDENTIAL,
        authorization_grant_type=OAuthApplication.GRANT_AUTHORIZATION_CODE,
        redirect_uris="http://127.0.0.1:8765/callback",
    )
    expires = timezone.now() + timedelta(hours=1)
    access = AccessToken.objects.create(
        user=owner, application=application, token="at-admin", expires=expires, scope="read"
    )
    social_app = SocialApp.objects.create(provider="google", name="Google", client_id="cid")
    social_account = SocialAccount.objects.create(user=owner, provider="google", uid="1")
    return {
        Tenant: tenant,
        Domain: Domain.objects.get(tenant=tenant),
        Group: Group.objects.create(name="Support"),
        User: owner,
        Membership: membership,
        Site: Site.objects.get_current(),
        OutstandingToken: OutstandingToken.objects.get(jti=refresh["jti"]),
        BlacklistedToken: BlacklistedToken.objects.get(token__jti=refresh["jti"]),
        OAuthApplication: application,
        AccessToken: access,
        RefreshToken: RefreshToken.objects.create(
            user=owner, application=application, token="rt-admin", access_token=access
        ),
        Grant: Grant.objects.create(
            user=owner,
            application=application,
            code="code-admin",
            expires=expires,
            redirect_uri="http://127.0.0.1:8765/callback",
            scope="read",
        ),
        IDToken: IDToken.objects.create(
            user=owner, application=application, jti=uuid.uuid4(), expires=expires
        ),
        Authenticator: TOTP.activate(owner, generate_totp_secret()).instance,
        EmailAddress: EmailAddress.objects.create(
            user=owner, email=owner.email, verified=True, primary=True
        ),
        SocialApp: social_app,
        SocialAccount: social_account,
        SocialToken: SocialToken.objects.create(app=social_app, account=social_account, token="t"),
        Plan: Plan.objects.order_by("pk").first(),
        BillingAccount: account,
        WebhookEvent: event,
        EmailFailure: email_failure_record(
            template="invitation",
            to="nobody@example.test",
            about={"tenant_id": tenant.pk, "target_type": "invitation", "target_id": 1},
            reason="The mail server refused the address: 550 5.1.1 No such user",
            attempts=1,
        ),
    }
