import pytest

from saas.errors import Conflict, InvalidInput
from tenants.models import TenantStatus
from tenants.services import tenant_set_status


def test_allowed_transitions_are_applied_and_timestamped(db, make_tenant) -> None:
    tenant = make_tenant("acme")
    tenant_set_status(tenant=tenant, status=TenantStatus.PAST_DUE)
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.PAST_DUE
    assert tenant.status_changed_at is not None


def test_archived_is_terminal(db, make_tenant) -> None:
    tenant = make_tenant("acme")
    tenant_set_status(tenant=tenant, status=TenantStatus.ARCHIVED)
    with pytest.raises(Conflict):
        tenant_set_status(tenant=tenant, status=TenantStatus.ACTIVE)


def test_unknown_status_is_refused(db, make_tenant) -> None:
    with pytest.raises(InvalidInput):
        tenant_set_status(tenant=make_tenant("acme"), status="deleted")
