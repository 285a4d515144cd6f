"""Sentry starts only with a DSN, and then without personal data."""

import json
import subprocess
import sys

from tests.support.processes import REPO

PROBE = """
import django, json, sentry_sdk
django.setup()
client = sentry_sdk.get_client()
options = client.options if client.is_active() else {}
print(json.dumps({
    "active": client.is_active(),
    "pii": options.get("send_default_pii"),
    "environment": options.get("environment"),
    "release": options.get("release"),
    "integrations": sorted(getattr(client, "integrations", {}) or {}),
}))
"""


def _probe(env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    return dict(json.loads(done.stdout))


def test_sentry_is_off_without_a_dsn(production_env: dict[str, str]) -> None:
    assert _probe(production_env)["active"] is False


def test_sentry_with_a_dsn_reports_without_personal_data(production_env: dict[str, str]) -> None:
    state = _probe(
        {
            **production_env,
            "SENTRY_DSN": "https://public@sentry.invalid/1",
            "SENTRY_ENVIRONMENT": "staging",
            "SENTRY_RELEASE": "saas@1.2.3",
        }
    )
    assert state["active"] is True
    assert state["pii"] is False
    assert state["environment"] == "staging"
    assert state["release"] == "saas@1.2.3"
    assert {"django", "celery"} <= set(state["integrations"])
