"""Simulated time as an operator uses it: `billing_test_clock` shows and moves an
organization's own test clock; without one (or for an unknown organization) it says why."""

import io
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from billing.models import BillingAccount
from billing.services.subscriptions import billing_customer_ready
from tests.support.billing import stripe_sdk
from tests.support.processes import REPO, subprocess_env


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("billing_test_clock", *args, stdout=out)
    return out.getvalue()


def test_a_new_customer_gets_a_clock_of_its_own_that_the_command_moves(
    make_tenant, stripe_emulator, settings
) -> None:
    settings.BILLING_TEST_CLOCKS = True
    acme, beta = make_tenant("acme"), make_tenant("beta")
    for tenant in (acme, beta):
        billing_customer_ready(tenant_id=tenant.pk)
    clocks = {
        t.slug: stripe_sdk()
        .v1.customers.retrieve(BillingAccount.objects.get(tenant=t).stripe_customer_id or "")
        .test_clock
        for t in (acme, beta)
    }
    assert all(clocks.values())
    assert clocks["acme"] != clocks["beta"]
    before = {slug: _frozen(clock) for slug, clock in clocks.items()}

    assert "(ready)" in _run("acme", "--days", "31")

    assert _frozen(clocks["acme"]) - before["acme"] == 31 * 86_400
    assert _frozen(clocks["beta"]) == before["beta"]  # another organization's time stays


def _frozen(clock_id: object) -> int:
    return int(stripe_sdk().v1.test_helpers.test_clocks.retrieve(str(clock_id)).frozen_time)


def test_without_a_clock_or_an_organization_the_command_says_why(
    make_tenant, stripe_emulator
) -> None:
    billing_customer_ready(tenant_id=make_tenant("acme").pk)  # BILLING_TEST_CLOCKS off
    with pytest.raises(CommandError, match="not on a test clock"):
        _run("acme", "--days", "1")
    with pytest.raises(CommandError, match="No organization"):
        _run("nobody")


def test_test_clocks_refuse_a_live_key() -> None:
    env = subprocess_env(
        DJANGO_ENV="test", BILLING_TEST_CLOCKS="true", STRIPE_SECRET_KEY="sk_live_x"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=REPO,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "BILLING_TEST_CLOCKS needs a test-mode STRIPE_SECRET_KEY" in result.stderr
