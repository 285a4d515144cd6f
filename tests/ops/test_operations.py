"""Operator actions on tenants: suspend, reactivate, export, archive (Stripe first), purge."""

import json
import os
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from billing import gateway
from billing.errors import PaymentProviderUnavailable
from billing.models import BillingAccount, SubscriptionStatus
from saas.errors import Conflict
from saas.workspace.models import Project
from tenants.db import schema_activate, schema_activate_public
from tenants.models import Domain, Tenant, TenantStatus
from tenants.operations import (
    pg_dump_for,
    server_major_version,
    tenant_archive,
    tenant_export,
    tenants_purge_archived,
)
from tenants.resolution import tenant_cache_invalidate
from tests.factories import make_organization
from tests.support.billing import stripe_sdk, subscribe_paid
from tests.support.processes import free_port


def _schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None


def _project(tenant: Tenant, name: str) -> None:
    schema_activate(tenant)
    Project.objects.create(name=name)
    schema_activate_public()


def test_suspend_and_reactivate_commands_follow_the_lifecycle(
    make_tenant, make_member, client_for
) -> None:
    tenant = make_tenant("acme")
    user = make_member(tenant)

    call_command("tenant_suspend", "acme", stdout=StringIO())
    tenant_cache_invalidate()
    assert client_for(tenant, user).get("/api/v1/projects/").json()["error"]["code"] == (
        "tenant_suspended"
    )
    call_command("tenant_reactivate", "acme", stdout=StringIO())
    tenant_cache_invalidate()  # on commit in real use; this test's transaction never commits

    assert client_for(tenant, user).get("/api/v1/projects/").status_code == 200
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.ACTIVE


def test_a_transition_the_lifecycle_forbids_is_a_clear_command_error(make_tenant) -> None:
    make_tenant("acme")
    call_command("tenant_delete", "acme", stdout=StringIO())

    with pytest.raises(CommandError, match="cannot go from archived"):
        call_command("tenant_reactivate", "acme", stdout=StringIO())
    tenant_cache_invalidate()  # on commit in real use; this test's transaction never commits
    with pytest.raises(CommandError, match="no tenant"):
        call_command("tenant_suspend", "nobody", stdout=StringIO())


def test_export_holds_the_tenants_data_and_nothing_of_another(make_tenant, make_member) -> None:
    a, b = make_tenant("alpha"), make_tenant("bravo")
    alice, bob = make_member(a), make_member(b)
    _project(a, "alpha-secret-plan")
    _project(b, "bravo-secret-plan")

    data = tenant_export(tenant=a)
    text = json.dumps(data)

    assert data["tenant"]["slug"] == "alpha"
    assert data["domains"] == [{"domain": "alpha.localhost", "is_primary": True}]
    assert [m["email"] for m in data["memberships"]] == [alice.email]
    assert [p["name"] for p in data["schema"]["tables"]["workspace_project"]] == [
        "alpha-secret-plan"
    ]
    assert "bravo" not in text
    assert bob.email not in text
    assert "pbkdf2" not in text
    assert "password" not in text


def test_export_command_writes_json_and_a_pg_dump(committed: None, tmp_path: Path) -> None:
    tenant = make_organization("acme")  # committed: pg_dump is another session
    _project(tenant, "in-the-dump")
    out, dump = tmp_path / "acme.json", tmp_path / "acme.dump"

    call_command("tenant_export", "acme", "-o", str(out), "--pg-dump", str(dump), stderr=StringIO())

    assert json.loads(out.read_text())["schema"]["name"] == tenant.schema_name
    assert dump.read_bytes().startswith(b"PGDMP")


def test_a_pg_dump_on_path_older_than_the_server_is_passed_over(
    committed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pg_dump refuses a server newer than itself (the system's 15 and the embedded 16):
    the export looks for one of the server's version before taking PATH's."""
    old = tmp_path / "bin" / "pg_dump"
    old.parent.mkdir()
    old.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = --version ]; then echo "pg_dump (PostgreSQL) 9.6"; exit 0; fi\n'
        'echo "pg_dump: error: aborting because of server version mismatch" >&2; exit 1\n'
    )
    old.chmod(0o755)
    monkeypatch.setenv("PATH", f"{old.parent}:{os.environ['PATH']}")
    make_organization("acme")
    dump = tmp_path / "acme.dump"

    call_command(
        "tenant_export",
        "acme",
        "-o",
        str(tmp_path / "a.json"),
        "--pg-dump",
        str(dump),
        stderr=StringIO(),
    )

    assert dump.read_bytes().startswith(b"PGDMP")
    assert pg_dump_for(server_major=server_major_version()) != str(old)


def test_with_no_pg_dump_new_enough_the_export_says_so() -> None:
    with pytest.raises(Conflict) as refused:
        pg_dump_for(server_major=999)
    assert refused.value.code == "no_pg_dump"
    assert "No pg_dump for PostgreSQL 999" in refused.value.message


def test_archive_cancels_the_stripe_subscription_first(
    make_tenant, client_for, stripe_emulator
) -> None:
    tenant = make_tenant("acme")
    account = subscribe_paid(tenant)

    call_command("tenant_delete", "acme", stdout=StringIO())

    remote = stripe_sdk().v1.subscriptions.retrieve(account.stripe_subscription_id or "")
    assert remote.status == "canceled"
    account.refresh_from_db()
    assert account.status == SubscriptionStatus.CANCELED
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.ARCHIVED
    assert client_for(tenant).get("/api/v1/projects/").status_code == 404


def test_a_stripe_failure_archives_nothing(make_tenant, settings, stripe_emulator) -> None:
    tenant = make_tenant("acme")
    account = subscribe_paid(tenant)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # nobody listens
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    gateway.reset_client()
    try:
        with pytest.raises(PaymentProviderUnavailable):
            tenant_archive(tenant=tenant)
        with pytest.raises(CommandError, match="nothing archived"):
            call_command("tenant_delete", "acme", stdout=StringIO())
    finally:
        settings.STRIPE_API_BASE = stripe_emulator.url
        gateway.reset_client()

    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.ACTIVE
    assert BillingAccount.objects.get(pk=account.pk).status == SubscriptionStatus.ACTIVE
    remote = stripe_sdk().v1.subscriptions.retrieve(account.stripe_subscription_id or "")
    assert remote.status == "active"


def test_purge_respects_the_retention_period(make_tenant, settings) -> None:
    settings.TENANT_PURGE_AFTER_DAYS = 30
    old, recent, live = make_tenant("old"), make_tenant("recent"), make_tenant("live")
    tenant_archive(tenant=old)
    tenant_archive(tenant=recent)
    Tenant.objects.filter(pk=old.pk).update(status_changed_at=timezone.now() - timedelta(days=31))
    Tenant.objects.filter(pk=recent.pk).update(
        status_changed_at=timezone.now() - timedelta(days=29)
    )

    assert tenants_purge_archived() == ["old"]

    assert not Tenant.objects.filter(pk=old.pk).exists()
    assert not Domain.objects.filter(tenant_id=old.pk).exists()
    assert not _schema_exists(old.schema_name)
    assert _schema_exists(recent.schema_name)
    assert _schema_exists(live.schema_name)

    out = StringIO()
    call_command("tenant_purge_archived", "--now", stdout=out)

    assert "purged recent" in out.getvalue()
    assert not _schema_exists(recent.schema_name)
    assert Tenant.objects.filter(pk=live.pk).exists()


def test_the_purge_task_runs_the_same_service(make_tenant) -> None:
    from tenants.tasks import tenants_purge_archived as task

    tenant = make_tenant("gone")
    tenant_archive(tenant=tenant)
    Tenant.objects.filter(pk=tenant.pk).update(
        status_changed_at=timezone.now() - timedelta(days=365)
    )

    assert task.apply().get() == ["gone"]
