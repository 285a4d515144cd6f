"""Tests run against a real PostgreSQL (a test database of their own) and a real Redis, both
found or started by `saas test`.

Where things are: every shared fixture in tests/fixtures (registered here, so any test asks
for one by name), the data factories in tests/factories.py, helpers in tests/support. There
is no other conftest, and nothing is imported from one."""

pytest_plugins = [
    "tests.fixtures.core",
    "tests.fixtures.billing",
    "tests.fixtures.oauth",
    "tests.fixtures.browser",
    "tests.fixtures.security",
    "tests.fixtures.emulator",
    "tests.fixtures.mfa",
    "tests.fixtures.domains",
    "tests.fixtures.sso",
    "tests.fixtures.scim",
    "tests.fixtures.webhooks_out",
    "tests.fixtures.apikeys",
    "tests.fixtures.usage",
    "tests.fixtures.faults",
]
