"""Seats follow memberships: for a per-seat price, adding or removing members changes the
Stripe subscription quantity, a burst of changes makes one update, a retry reuses its
idempotency key, lost runs are swept up, and free or metered plans are left alone."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Membership, Role
from accounts.services import membership_create, membership_remove
from billing.models import BillingAccount, SeatSync
from billing.services import seats
from billing.services.seats import seat_sync_apply, seat_sync_sweep
from tests.factories import make_user
from tests.support.billing import stripe_quantity, subscribe_paid, subscription_updates

pytestmark = pytest.mark.usefixtures("stripe_emulator")  # a fresh Stripe for each test


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Seat sync runs that would have been sent to Celery (account ids)."""
    runs: list[int] = []
    monkeypatch.setattr(seats, "_enqueue", lambda account_id, countdown: runs.append(account_id))
    return runs


def test_a_burst_of_new_members_becomes_one_stripe_update(
    acme, make_member, enqueued, django_capture_on_commit_callbacks
) -> None:
    account = subscribe_paid(acme.tenant, "starter-monthly")
    assert (account.quantity, stripe_quantity(account)) == (1, 1)

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            make_member(acme.tenant)

    assert enqueued == [account.pk]  # one run for the whole burst
    assert seat_sync_apply(account_id=account.pk) is True
    account.refresh_from_db()
    assert (account.quantity, stripe_quantity(account)) == (6, 6)
    assert subscription_updates(account) == 1
    assert SeatSync.objects.get(account=account).dirty_since is None
    assert seat_sync_apply(account_id=account.pk) is False  # nothing left to do


def test_removing_a_member_lowers_the_quantity(
    acme, make_member, enqueued, django_capture_on_commit_callbacks
) -> None:
    leaving = make_member(acme.tenant)
    account = subscribe_paid(acme.tenant, "starter-monthly")
    assert stripe_quantity(account) == 2

    with django_capture_on_commit_callbacks(execute=True):
        membership_remove(tenant=acme.tenant, user_id=leaving.pk)
    seat_sync_apply(account_id=account.pk)

    account.refresh_from_db()
    assert (account.quantity, stripe_quantity(account)) == (1, 1)


def test_a_role_change_is_not_a_seat_change(acme, make_member, enqueued) -> None:
    member = make_member(acme.tenant)
    subscribe_paid(acme.tenant, "starter-monthly")
    membership = Membership.objects.get(user=member)
    membership.role = Role.ADMIN
    membership.save()
    assert not SeatSync.objects.filter(dirty_since__isnull=False).exists()


def test_a_retry_after_a_crash_reuses_the_idempotency_key(
    acme, make_member, enqueued, monkeypatch
) -> None:
    account = subscribe_paid(acme.tenant, "starter-monthly")
    make_member(acme.tenant)
    sync = SeatSync.objects.get(account=account)
    key_before = sync.idempotency_key

    def crash(**kwargs: object) -> None:
        raise RuntimeError("worker died after Stripe answered")

    with monkeypatch.context() as patched:
        patched.setattr("billing.services.seats.subscription_apply", crash)
        with pytest.raises(RuntimeError):
            seat_sync_apply(account_id=account.pk)
    sync.refresh_from_db()
    assert (sync.idempotency_key, sync.dirty_since is not None) == (key_before, True)
    assert stripe_quantity(account) == 2  # Stripe did apply it

    assert seat_sync_apply(account_id=account.pk) is True

    account.refresh_from_db()
    assert account.quantity == 2
    assert subscription_updates(account) == 1  # Stripe replayed its first answer
    sync.refresh_from_db()
    assert sync.idempotency_key != key_before  # the next change gets a fresh key


def test_the_sweep_reruns_syncs_dirty_for_over_a_minute(acme, make_member, enqueued) -> None:
    account = subscribe_paid(acme.tenant, "starter-monthly")
    make_member(acme.tenant)
    sync = SeatSync.objects.get(account=account)
    assert enqueued == [account.pk]  # the change's own run
    assert seat_sync_sweep() == 0  # just marked: its own run is still due

    SeatSync.objects.filter(pk=sync.pk).update(dirty_since=timezone.now() - timedelta(minutes=2))

    assert seat_sync_sweep() == 1
    assert enqueued == [account.pk, account.pk]  # and the sweep's


@pytest.mark.parametrize("price", [None, "scale-usage"])
def test_free_and_metered_plans_have_no_seat_sync(acme, make_member, enqueued, price) -> None:
    if price:
        subscribe_paid(acme.tenant, price)
    make_member(acme.tenant)
    assert not SeatSync.objects.exists()
    assert enqueued == []


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("the worker did not sync the seats in time")


def test_members_added_one_by_one_reach_stripe_through_the_worker(
    make_tenant, make_member, stripe_emulator, committed, celery_worker, monkeypatch
) -> None:
    monkeypatch.setattr(seats, "SEAT_SYNC_DELAY_SECONDS", 3)
    tenant = make_tenant("acme")
    make_member(tenant, role=Role.OWNER)
    account = subscribe_paid(tenant, "starter-monthly")

    users = [make_user() for _ in range(5)]
    for user in users:  # five separate commits, well within the delay
        membership_create(user=user, tenant_id=tenant.pk)

    def synced() -> bool:
        current = BillingAccount.objects.get(pk=account.pk)
        sync = SeatSync.objects.filter(account=account).first()
        return current.quantity == 6 and sync is not None and sync.dirty_since is None

    _wait_for(synced)
    assert stripe_quantity(account) == 6
    assert subscription_updates(account) == 1
