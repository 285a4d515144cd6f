"""Billing lifecycles as a tenant admin lives them, over simulated time: the stack, the
organization's admin working over HTTP, and the world they live in.

The stack is real and apart from the test process: gunicorn serving the app, a Celery
worker of its own (its own queue, BILLING_TEST_CLOCKS on, so every organization that signs
up gets a Stripe test clock), the offline Stripe sending signed webhooks to gunicorn, and
an SMTP sink. A test drives it like a person: signs up and logs in over HTTP, pays on the
hosted checkout page, calls the billing API, moves the organization's test clock with the
operator command, and runs beat jobs through the worker. Nothing is mirrored in-process:
every state the API shows got there through Stripe's webhooks.
"""

import os
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings
from django.core.management import call_command

from billing.models import BillingAccount, EventState, Plan, WebhookEvent
from config.celery import app as celery_app
from tenants.models import Tenant
from tenants.services import tenant_domain_for
from tests.support.billing import stripe_sdk
from tests.support.processes import SmtpSink, wait_until

SECRET = "whsec_scenarios"
WEBHOOK_PATH = "/api/v1/billing/stripe/webhook/"
DAY = 86_400
PASSWORD = "correct-horse-battery-staple"  # noqa: S105 - a test account's


@dataclass
class Stack:
    url: str
    queue: str
    mail: SmtpSink

    def send_beat(self, task: str) -> None:
        """Run a beat job the way beat does: a message to the worker."""
        celery_app.send_task(task, queue=self.queue)


def wait_http(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited")
        try:
            requests.get(url + "/healthz", timeout=5)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


@dataclass
class Admin:
    """An organization's owner, working over HTTP on its host."""

    stack: Stack
    slug: str
    email: str
    token: str = ""
    _tenant: Tenant | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return tenant_domain_for(self.slug)

    @property
    def tenant(self) -> Tenant:
        self._tenant = self._tenant or Tenant.objects.get(slug=self.slug)
        return self._tenant

    def login(self) -> None:
        response = self.request("POST", "auth/login/", {"email": self.email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        self.token = response.json()["access"]

    def request(self, method: str, path: str, body: Any = None) -> requests.Response:
        headers = {"Host": self.host}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return requests.request(
            method, f"{self.stack.url}/api/v1/{path}", json=body, headers=headers, timeout=30
        )

    def get(self, path: str) -> dict[str, Any]:
        response = self.request("GET", path)
        if response.status_code == 401:  # access tokens last 5 minutes
            self.login()
            response = self.request("GET", path)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def post(self, path: str, body: Any = None) -> requests.Response:
        return self.request("POST", path, body if body is not None else {})

    @property
    def account(self) -> BillingAccount:
        return BillingAccount.objects.get(tenant=self.tenant)

    @property
    def customer_id(self) -> str:
        return self.account.stripe_customer_id or ""

    def subscription(self) -> dict[str, Any]:
        return self.get("billing/subscription/")

    def entitlements(self) -> dict[str, Any]:
        return self.get("billing/entitlements/")

    def invoices(self) -> list[dict[str, Any]]:
        return list(self.get("billing/invoices/?page_size=100")["results"])

    def checkout(self, price: str) -> str:
        response = self.post("billing/checkout/", {"price": price})
        assert response.status_code == 201, response.text
        return str(response.json()["url"])

    def clock_now(self) -> int:
        clock = stripe_sdk().v1.customers.retrieve(self.customer_id, {"expand": ["test_clock"]})
        return int(clock.test_clock.frozen_time)  # type: ignore[union-attr]

    def advance(self, *, days: float = 0, to: int | None = None) -> int:
        """Move this organization's clock with the operator command; returns its new time."""
        target = to if to is not None else self.clock_now() + int(days * DAY)
        iso = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(target))
        call_command("billing_test_clock", self.slug, to=iso, stdout=open(os.devnull, "w"))  # noqa: SIM115
        return target

    def receipts(self) -> list[str]:
        return [
            str(m["Subject"])
            for m in self.stack.mail.sent_to(self.email)
            if str(m["Subject"]).startswith("Receipt")
        ]

    def emails(self) -> list[str]:
        return [str(m["Subject"]) for m in self.stack.mail.sent_to(self.email)]


def assert_on_the_free_plan(admin: Admin) -> None:
    """A subscription that ended: the free plan, with its limits and features, in the API."""
    sub = admin.subscription()
    assert (sub["plan"], sub["status"], sub["price"]) == ("free", "canceled", None)
    entitlements = admin.entitlements()
    assert (entitlements["plan"]["code"], entitlements["seats"]["limit"]) == ("free", 3)
    assert entitlements["features"]["sso"] is False


class World:
    def __init__(self, stack: Stack, emulator: Any) -> None:
        self.stack, self.emulator = stack, emulator

    def signup(self, slug: str, *, trial_days: int | None = None) -> Admin:
        """An organization made over HTTP on the public host, its owner logged in, once the
        worker has made its Stripe customer (on a test clock of its own)."""
        if trial_days is not None:
            Plan.objects.exclude(code="free").update(trial_days=trial_days)
        email = f"owner-{slug}@example.test"
        body = {"name": slug.title(), "slug": slug, "email": email, "password": PASSWORD}
        response = requests.post(
            f"{self.stack.url}/api/v1/signup/",
            json=body,
            headers={"Host": settings.BASE_DOMAIN},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        admin = Admin(self.stack, slug, email)
        wait_until(lambda: admin.account.stripe_customer_id, "the Stripe customer")
        admin.login()
        return admin

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until every event Stripe has sent so far was processed by our worker; any
        event that failed, even once, fails the scenario (no retry may paper over it)."""
        ids = [e.id for e in stripe_sdk().v1.events.list({"limit": 100}).auto_paging_iter()]
        deadline = time.monotonic() + timeout
        finished = [EventState.DONE, EventState.IGNORED]
        while time.monotonic() < deadline:
            events = WebhookEvent.objects.filter(stripe_event_id__in=ids)
            failing = events.exclude(last_error="").values_list("type", "last_error")[:3]
            assert not failing, f"webhook events failed: {list(failing)}"
            if events.filter(state__in=finished).count() == len(ids):
                return
            time.sleep(0.1)
        done = WebhookEvent.objects.filter(state__in=finished)
        missing = set(ids) - set(done.values_list("stripe_event_id", flat=True))
        deliveries = {i: self.emulator.store.internal_of(i).get("deliveries") for i in missing}
        raise AssertionError(f"events not processed in {timeout}s: {deliveries}")


def pay_on_hosted_page(checkout_url: str, card: str = "pm_card_visa") -> requests.Response:
    """What a person does on Stripe's Checkout page: submit the card form."""
    return requests.post(
        checkout_url, data={"payment_method": card}, allow_redirects=False, timeout=30
    )


def prorated(unit_amount: int, quantity: int, remaining: int, period: int) -> int:
    """Stripe's proration of one side of a change: per second, rounded to the minor unit."""
    return round(unit_amount * quantity * remaining / period)


def subscribed(world: World, slug: str, price: str) -> Admin:
    admin = world.signup(slug, trial_days=0)
    assert pay_on_hosted_page(admin.checkout(price)).status_code == 303
    world.settle()
    assert admin.subscription()["price"] == price
    return admin


def stripe_subscription(admin: Admin) -> Any:
    return stripe_sdk().v1.subscriptions.retrieve(
        admin.account.stripe_subscription_id or "", {"expand": ["schedule"]}
    )


def period_of(admin: Admin) -> tuple[int, int]:
    item = stripe_subscription(admin)["items"].data[0]
    return int(item.current_period_start), int(item.current_period_end)


def stripe_invoices(admin: Admin) -> list[Any]:
    """Newest first, as Stripe lists them."""
    params: Any = {"customer": admin.customer_id, "limit": 100}
    return list(stripe_sdk().v1.invoices.list(params).data)
