"""Every page of the operator admin renders for a superuser on the public host: for each
registered model its list, add form, change form and delete confirmation (one real object
of each), plus the index and each app's page. A page answers 200, or 403 where the model's
admin refuses the action on purpose (rows made by Stripe or the token flows are not added or
deleted by hand)."""

import pytest
from django.contrib import admin
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from accounts.models import User
from billing.models import BillingAccount, WebhookEvent
from tenants.models import Domain, Tenant
from tests.factories import PASSWORD, make_organization
from tests.support.admin_samples import admin_samples

OPERATOR = "operator@example.test"

# Pages an admin refuses on purpose (403), by model: everything else must answer 200.
REFUSED = {
    # Made and archived whole by the services (create_tenant, signup, the Archive action).
    "tenants.Tenant": {"add", "delete"},
    "tenants.Domain": {"add", "delete"},
    "billing.BillingAccount": {"add"},  # made at signup; Stripe is the source of truth
    # Members join by signup or invitation and change over the organization's API (one
    # owner, seats, audit); the sample user owns an organization: transfer before deleting.
    "accounts.Membership": {"add", "delete"},
    "accounts.User": {"delete"},
    "accounts.OAuthApplication": {"add"},  # registered by the organization's admins
    "billing.WebhookEvent": {"add"},  # events come from Stripe
    "emails.EmailFailure": {"add"},  # written by the email task when it cannot send
    # simplejwt and django-oauth-toolkit: tokens come from their flows and are revoked, not
    # deleted (a deleted row would let a rotated token be replayed).
    "token_blacklist.OutstandingToken": {"add", "delete"},
    "oauth2_provider.AccessToken": {"add", "delete"},
    "oauth2_provider.RefreshToken": {"add", "delete"},
    "oauth2_provider.Grant": {"add"},
    "oauth2_provider.IDToken": {"add"},
    # A second factor is set up and removed by its person over the API (audited there).
    "mfa.Authenticator": {"add", "delete"},
}


@pytest.fixture
def operator_client(db: None) -> Client:
    """A superuser logged in through the admin's login form on the public host. Server
    errors come back as responses (not raised), so one run lists every broken page."""
    User.objects.create_superuser(email=OPERATOR, password=PASSWORD)
    client = Client(HTTP_HOST="localhost", raise_request_exception=False)
    form = client.get("/admin/")  # what a browser does: sent to the login form
    assert form.status_code == 302
    login = form["Location"]
    assert login == "/admin/login/?next=/admin/"
    response = client.post(login, {"username": OPERATOR, "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302, response.content[:2000]
    assert response["Location"] == "/admin/"
    return client


def _pages(model: type[Model], obj: Model) -> dict[str, str]:
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    return {
        "changelist": reverse(f"{name}_changelist", urlconf="config.urls_public"),
        "add": reverse(f"{name}_add", urlconf="config.urls_public"),
        "change": reverse(f"{name}_change", args=[obj.pk], urlconf="config.urls_public"),
        "delete": reverse(f"{name}_delete", args=[obj.pk], urlconf="config.urls_public"),
    }


def test_every_admin_page_renders_for_the_operator(operator_client: Client) -> None:
    objects = admin_samples()
    registered = set(admin.site._registry)
    missing = sorted(m._meta.label for m in registered - set(objects))
    assert not missing, f"add an object of {missing} to tests/ops/admin_samples.py"

    broken = []
    for model in sorted(registered, key=lambda m: m._meta.label):
        refused = REFUSED.get(model._meta.label, set())
        for page, url in _pages(model, objects[model]).items():
            response = operator_client.get(url)
            expected = 403 if page in refused else 200
            if response.status_code != expected:
                broken.append(f"{model._meta.label} {page} {url}: {response.status_code}")
    assert not broken, "\n".join(broken)


def test_admin_index_and_app_pages_list_the_models(operator_client: Client) -> None:
    index = operator_client.get("/admin/")
    assert index.status_code == 200
    html = index.content.decode()
    app_labels = {model._meta.app_label for model in admin.site._registry}
    for model in admin.site._registry:
        assert f'href="/admin/{model._meta.app_label}/{model._meta.model_name}/"' in html
    for label in sorted(app_labels):
        response = operator_client.get(f"/admin/{label}/")
        assert response.status_code == 200, label


def test_admin_lists_find_what_operators_search_for(operator_client: Client) -> None:
    """Tenants, billing accounts and Stripe events by what an operator is handed (a host, a
    member's email, a customer id, an event id) and by state."""
    admin_samples()
    tenant = Tenant.objects.get(slug="acme")
    account = BillingAccount.objects.get(tenant=tenant)
    event = WebhookEvent.objects.get(stripe_event_id="evt_admin_1")
    account.stripe_customer_id = "cus_admin_1"
    account.save(update_fields=["stripe_customer_id"])
    other = make_organization("other")

    def listed(url: str) -> set[int]:
        response = operator_client.get(url)
        assert response.status_code == 200, url
        return set(response.context["cl"].result_list.values_list("pk", flat=True))

    tenants = "/admin/tenants/tenant/"
    assert listed(f"{tenants}?q=acme.localhost") == {tenant.pk}
    assert listed(f"{tenants}?q=owner@acme.test") == {tenant.pk}
    assert listed(f"{tenants}?q={tenant.schema_name}") == {tenant.pk}
    assert listed(f"{tenants}?status__exact=active") == {tenant.pk, other.pk}
    plan = account.plan_id
    assert listed(f"{tenants}?billing_account__plan__id__exact={plan}") == {tenant.pk, other.pk}
    accounts = "/admin/billing/billingaccount/"
    assert listed(f"{accounts}?q=cus_admin_1") == {account.pk}
    assert listed(f"{accounts}?q=Other") == {other.billing_account.pk}
    assert listed(f"{accounts}?cancel_at_period_end__exact=1") == set()
    events = "/admin/billing/webhookevent/"
    assert listed(f"{events}?q=cus_admin_1") == {event.pk}
    assert listed(f"{events}?q=evt_admin_1") == {event.pk}
    assert listed(f"{events}?state__exact=pending") == {event.pk}
    assert listed(f"{events}?state__exact=failed") == set()


def test_the_admin_cannot_make_or_delete_half_a_tenant(operator_client: Client) -> None:
    """A plain add would save a tenant row without schema, billing account or owner; a plain
    delete would drop the row and leave its schema. Both are refused; Archive is the way."""
    acme = make_organization("acme")
    before = (Tenant.objects.count(), Domain.objects.count())
    add = operator_client.post(
        "/admin/tenants/tenant/add/", {"slug": "half", "name": "Half", "status": "active"}
    )
    assert add.status_code == 403
    delete = operator_client.post(f"/admin/tenants/tenant/{acme.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    bulk = operator_client.post(
        "/admin/tenants/tenant/",
        {"action": "delete_selected", "_selected_action": [acme.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    domain = Domain.objects.get(tenant=acme)
    assert (
        operator_client.post(
            f"/admin/tenants/domain/{domain.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert (Tenant.objects.count(), Domain.objects.count()) == before
    assert not Tenant.objects.filter(slug="half").exists()
