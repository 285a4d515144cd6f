"""Schemathesis against the running server: a real gunicorn child on loopback, this run's
test database and the offline Stripe emulator. The public host and a freshly signed-up
organization's host (its owner's token) are fuzzed with every check Schemathesis has (no
server errors; status codes, content types, headers and bodies as documented; negative data
rejected and positive data accepted; unsupported methods; ignored auth; use after free and
resource availability; object-level authorization) in every phase (the schema's examples,
coverage of each constraint's edges, random data, stateful sequences along links). Bounded:
a fixed seed and 20 examples per operation; `make fuzz` runs more. What JSON Schema cannot say
is allowed, each with its reason, in schemathesis.toml."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.core.management import call_command

from accounts.models import User
from accounts.scim.services import scim_token_create
from billing.models import Plan
from tenants.models import Tenant
from tests.support.domains import DnsServer
from tests.support.processes import RunningServer

pytestmark = pytest.mark.slow

CONFIG = Path(__file__).with_name("schemathesis.toml")
PUBLIC_PATHS = r"^/api/v1/(signup|plans|billing/stripe/webhook|tls/ask)/$"
# The SCIM service takes a SCIM token, never the owner's JWT (every call would be its 401):
# it is fuzzed on its own with one (test_scim_service_survives_the_fuzzer). Its token
# endpoints (/api/v1/scim/tokens/) are fuzzed with the rest of the tenant host.
SCIM_PATHS = r"^/scim/v2/"
# `make fuzz` runs longer with another seed each time (FUZZ_MAX_EXAMPLES, FUZZ_SEED); the run
# inside `make test` is fixed, so a red CI run reproduces.
SEED = os.environ.get("FUZZ_SEED", "20261124")
MAX_EXAMPLES = os.environ.get("FUZZ_MAX_EXAMPLES", "20")
OWNER = {"email": "owner@fuzz.test", "password": "fuzzing-password-2026"}
# Rate limits and throttles are not under test here (tests/billing, tests/accounts cover
# them); left on, they would turn most of the run into 429s.
SERVER_ENV = {
    "JWT_ACCESS_MINUTES": "60",
    **{
        name: "100000/min"
        for name in (
            "THROTTLE_LOGIN_IP",
            "THROTTLE_LOGIN_ACCOUNT",
            "THROTTLE_LOGIN_MFA_IP",
            "THROTTLE_PASSWORD_RESET_IP",
            "THROTTLE_PASSWORD_RESET_ACCOUNT",
            "THROTTLE_INVITATIONS_IP",
            "THROTTLE_INVITATIONS_ACCOUNT",
            "THROTTLE_SIGNUP_IP",
            "THROTTLE_SIGNUP_DOMAIN",
        )
    },
}


def schemathesis(schema: Path, server: RunningServer, *options: str) -> None:
    # Run beside the schema: the CLI keeps its cache in the working directory.
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(CONFIG),
        "run",
        str(schema),
        "--url",
        server.url,
        "--seed",
        SEED,
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        MAX_EXAMPLES,
        # One worker: with two, schemathesis's threads call ast.parse at once (Hypothesis
        # describes filtered strategies from their source), which CPython 3.11 before 3.11.8
        # can fail with "SystemError: AST constructor recursion depth mismatch" (CPython
        # gh-106905); it failed a run here.
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
        *options,
    ]
    result = subprocess.run(  # noqa: S603
        command, cwd=schema.parent, capture_output=True, text=True, timeout=1800, check=False
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]


@pytest.fixture
def fuzz_dns() -> Iterator[DnsServer]:
    """The DNS server the server's custom-domain checks ask: it knows no name, so verifying
    a domain the fuzzer added answers 409 at once, never waiting on a real resolver."""
    server = DnsServer()
    yield server
    server.stop()


@pytest.fixture
def fuzz_server(committed, start_server, fuzz_dns: DnsServer) -> RunningServer:
    Plan.objects.update(api_requests_per_minute=1_000_000)
    # Prices in the (emulated) Stripe, so checkout and plan changes can succeed.
    call_command("billing_sync_catalog", verbosity=0)
    env = {
        **SERVER_ENV,
        "CUSTOM_DOMAINS_DNS_NAMESERVERS": "127.0.0.1",
        "CUSTOM_DOMAINS_DNS_PORT": str(fuzz_dns.port),
    }
    try:
        return start_server(**env)
    except requests.ReadTimeout:
        # start_server's first health probe can time out while the worker still boots.
        return start_server(**env)


@pytest.fixture
def schema_file(fuzz_server: RunningServer, tmp_path: Path) -> Path:
    response = fuzz_server.get("/api/schema/?format=json", "localhost")
    assert response.status_code == 200
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(response.json()))
    return path


def test_public_host_survives_the_fuzzer(fuzz_server, schema_file) -> None:
    schemathesis(
        schema_file, fuzz_server, "-H", "Host: localhost", "--include-path-regex", PUBLIC_PATHS
    )


def test_tenant_host_survives_the_fuzzer(fuzz_server, schema_file) -> None:
    signup = fuzz_server.post(
        "/api/v1/signup/", "localhost", json={"name": "Fuzz", "slug": "fuzz", **OWNER}
    )
    assert signup.status_code == 201, signup.text
    Plan.objects.update(api_requests_per_minute=1_000_000, features=["api", "custom_domains"])
    token = fuzz_server.login("fuzz.localhost", OWNER["email"], OWNER["password"]).token
    schemathesis(
        schema_file,
        fuzz_server,
        "-H",
        "Host: fuzz.localhost",
        "-H",
        f"Authorization: Bearer {token}",
        "--exclude-path-regex",
        f"{PUBLIC_PATHS}|{SCIM_PATHS}",
    )


def test_scim_service_survives_the_fuzzer(fuzz_server, schema_file) -> None:
    """/scim/v2/ with a SCIM token of a fresh organization on a plan with scim and no seat
    limit (the 400s only the server can judge, and SCIM's leniency, are in
    schemathesis.toml)."""
    signup = fuzz_server.post(
        "/api/v1/signup/", "localhost", json={"name": "Fuzz", "slug": "fuzz", **OWNER}
    )
    assert signup.status_code == 201, signup.text
    Plan.objects.update(
        api_requests_per_minute=1_000_000, features=["api", "scim"], seats_limit=None
    )
    owner = User.objects.get(email=OWNER["email"])
    token = scim_token_create(tenant=Tenant.objects.get(slug="fuzz"), user_id=owner.pk, name="f")
    schemathesis(
        schema_file,
        fuzz_server,
        "-H",
        "Host: fuzz.localhost",
        "-H",
        f"Authorization: Bearer {token.raw}",
        "--include-path-regex",
        SCIM_PATHS,
    )
