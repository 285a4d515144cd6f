"""Pytest fixtures: a session-wide emulator and an SDK configured against it per test.

Use from a conftest with `from stripe_emulator.pytest_plugin import stripe_emulator,
stripe_client  # noqa: F401` (or `pytest_plugins = [...]` in the root conftest).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from .server import EmulatorServer

API_KEY = "sk_test_emulator"


@pytest.fixture(scope="session")
def stripe_emulator() -> Iterator[EmulatorServer]:
    """The emulator on a free loopback port; webhook retries are quick for tests."""
    server = EmulatorServer("127.0.0.1", 0, webhook_backoff=0.05, webhook_max_attempts=4)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stripe_client(
    stripe_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> stripe.StripeClient:
    """Fresh emulator state, the global SDK config pointed at it, and a StripeClient."""
    stripe_emulator.reset()
    url = stripe_emulator.url
    monkeypatch.setattr(stripe, "api_key", API_KEY)
    monkeypatch.setattr(stripe, "api_base", url)
    monkeypatch.setattr(stripe, "api_version", stripe._api_version._ApiVersion.CURRENT)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    monkeypatch.setenv("STRIPE_API_BASE", url)
    return stripe.StripeClient(
        API_KEY,
        base_addresses={"api": url, "files": url, "connect": url, "meter_events": url},
        max_network_retries=0,
    )
