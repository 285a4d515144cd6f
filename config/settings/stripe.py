"""Stripe and billing. With no STRIPE_SECRET_KEY, `saas dev` starts the offline emulator and
points STRIPE_API_BASE at it; an empty STRIPE_API_BASE means Stripe's own servers."""

from django.core.exceptions import ImproperlyConfigured

from .env import env

STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
# Pinned: Stripe answers in this version's shapes whatever the account's default is.
STRIPE_API_VERSION = env.str("STRIPE_API_VERSION", default="2026-10-28.endive")
# One attempt (connecting and the answer's first bytes) gives up after STRIPE_TIMEOUT_SECONDS;
# the SDK retries a failed attempt this many times (same idempotency key). All attempts of a
# call fit well inside gunicorn's worker timeout (config/settings/timeouts.py).
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=8.0)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=1)
# Several secrets during a rotation: an event signed by any of them is accepted.
STRIPE_WEBHOOK_SECRETS = env.list("STRIPE_WEBHOOK_SECRETS", default=[])
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
# A failed event is retried this many times in all, after 60 s, 120 s, ... (capped, with
# jitter); then it waits for `manage.py billing_replay_events`.
STRIPE_WEBHOOK_MAX_ATTEMPTS = env.int("STRIPE_WEBHOOK_MAX_ATTEMPTS", default=10)
STRIPE_WEBHOOK_RETRY_BASE_SECONDS = env.float("STRIPE_WEBHOOK_RETRY_BASE_SECONDS", default=60.0)
STRIPE_WEBHOOK_RETRY_MAX_SECONDS = env.float("STRIPE_WEBHOOK_RETRY_MAX_SECONDS", default=3600.0)
# Reconciliation lists Stripe's events of this many past hours (Stripe retries for 3 days)
# and ingests any never received; undelivered only (delivery_success=false) by default.
STRIPE_EVENTS_RECONCILE_HOURS = env.int("STRIPE_EVENTS_RECONCILE_HOURS", default=72)
STRIPE_EVENTS_RECONCILE_UNDELIVERED_ONLY = env.bool(
    "STRIPE_EVENTS_RECONCILE_UNDELIVERED_ONLY", default=True
)

# The plan a new organization starts on, and whether it starts as a trial of it (the plan's
# trial_days, in Stripe, without a card).
BILLING_SIGNUP_PLAN = env.str("BILLING_SIGNUP_PLAN", default="free")
BILLING_SIGNUP_TRIAL = env.bool("BILLING_SIGNUP_TRIAL", default=False)
# Where an organization lands when its subscription ends (a trial that ran out included).
BILLING_FREE_PLAN = env.str("BILLING_FREE_PLAN", default="free")
# Test mode only: every new Stripe customer gets a test clock of its own, so
# `manage.py billing_test_clock` can move that organization through simulated time.
BILLING_TEST_CLOCKS = env.bool("BILLING_TEST_CLOCKS", default=False)
if BILLING_TEST_CLOCKS and STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_")):
    # Stripe has no test clocks in live mode: every new customer would fail to be made.
    raise ImproperlyConfigured("BILLING_TEST_CLOCKS needs a test-mode STRIPE_SECRET_KEY")
# How long past_due keeps full access before the organization becomes read-only.
BILLING_GRACE_DAYS = env.int("BILLING_GRACE_DAYS", default=7)
# Where Checkout and the portal send people back: {host} is the organization's host.
BILLING_RETURN_URL = env.str("BILLING_RETURN_URL", default="http://{host}/billing")
