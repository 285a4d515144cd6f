"""The Tenant admin's actions run the same operations as the commands."""

import json
from typing import Any

from django.test import Client

from accounts.models import User
from tenants.models import Tenant, TenantStatus


def _admin_client() -> Client:
    operator = User.objects.create_superuser(email="operator@example.test", password="x" * 12)
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    return client


def _act(client: Client, action: str, *tenants: Tenant) -> Any:
    return client.post(
        "/admin/tenants/tenant/",
        {"action": action, "_selected_action": [t.pk for t in tenants]},
    )


def test_suspend_reactivate_and_archive_from_the_admin(make_tenant) -> None:
    acme = make_tenant("acme")
    client = _admin_client()

    _act(client, "suspend", acme)
    acme.refresh_from_db()
    assert acme.status == TenantStatus.SUSPENDED

    _act(client, "reactivate", acme)
    acme.refresh_from_db()
    assert acme.status == TenantStatus.ACTIVE

    _act(client, "archive", acme)
    acme.refresh_from_db()
    assert acme.status == TenantStatus.ARCHIVED


def test_export_from_the_admin_downloads_only_the_selected_tenants(make_tenant) -> None:
    acme, other = make_tenant("acme"), make_tenant("other")

    response = _act(_admin_client(), "export", acme)

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert list(data) == ["acme"]
    assert other.schema_name not in response.content.decode()
