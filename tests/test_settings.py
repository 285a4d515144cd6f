"""Settings refuse to start insecurely outside dev/test, and `.env.example` is a dev setup."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import environ
import pytest

from config import environment
from tests.support.processes import GOOD_KEYS, REPO, load_settings


def test_production_starts_with_both_keys() -> None:
    result = load_settings(DJANGO_ENV="production", **GOOD_KEYS)
    assert result.stdout.strip() == "ok", result.stderr


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set"),
        ({"JWT_SIGNING_KEY": ""}, "JWT_SIGNING_KEY must be set"),
        ({"JWT_SIGNING_KEY": "too-short"}, "at least 32 bytes"),
        ({"JWT_SIGNING_KEY": GOOD_KEYS["SECRET_KEY"]}, "must differ from SECRET_KEY"),
        ({"DJANGO_ENV": "staging"}, "DJANGO_ENV must be"),
    ],
)
def test_production_refuses_missing_or_weak_keys(change: dict, complaint: str) -> None:
    result = load_settings(**{"DJANGO_ENV": "production", **GOOD_KEYS, **change})
    assert result.returncode != 0
    assert complaint in result.stderr


def test_debug_is_off_unless_asked() -> None:
    script = "import django; from django.conf import settings; print(settings.DEBUG)"
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV": "dev",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip() == "False"


SHOW = """
import json, os
import django
from django.conf import settings
django.setup()
from saas.observability import metrics
metrics.HTTP_REQUESTS.labels("route", "GET", "200").inc()
print(json.dumps({
    "DJANGO_ENV": settings.DJANGO_ENV,
    "SECRET_KEY": settings.SECRET_KEY,
    "JWT_SIGNING_KEY": settings.JWT_SIGNING_KEY,
    "API_PAGE_SIZE": settings.API_PAGE_SIZE,
    "https": [settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE],
    "PROMETHEUS_MULTIPROC_DIR": os.environ.get("PROMETHEUS_MULTIPROC_DIR"),
}))
"""


def show_settings(env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Settings as a process with exactly `env` sees them, started in `cwd` (where metric
    files would appear)."""
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=cwd,
        env={"DJANGO_SETTINGS_MODULE": "config.settings", **base, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def dotenv(path: Path) -> dict[str, str]:
    """The variables a `.env` like `path` sets, parsed as config/settings/env.py reads .env."""
    parsed: dict[str, str] = {}

    class Reader(environ.Env):
        ENVIRON = parsed

    Reader.read_env(path)
    return parsed


def assert_usable_dev_setup(seen: dict[str, Any], cwd: Path) -> None:
    assert seen["DJANGO_ENV"] == "dev"
    assert len(seen["SECRET_KEY"]) >= 32
    assert len(seen["JWT_SIGNING_KEY"]) >= 32
    assert seen["JWT_SIGNING_KEY"] != seen["SECRET_KEY"]
    assert seen["https"] == [False, False]  # plain http on localhost
    assert seen["PROMETHEUS_MULTIPROC_DIR"] is None
    assert list(cwd.iterdir()) == []  # no metric files where the process runs


def test_a_copy_of_env_example_is_a_working_dev_setup(tmp_path: Path) -> None:
    variables = dotenv(REPO / ".env.example")
    assert "DJANGO_ENV" in variables

    assert_usable_dev_setup(show_settings(variables, cwd=tmp_path), tmp_path)


def test_an_empty_variable_is_an_unset_one(tmp_path: Path) -> None:
    empty = ["SECRET_KEY", "JWT_SIGNING_KEY", "PROMETHEUS_MULTIPROC_DIR", "API_PAGE_SIZE"]
    seen = show_settings({"DJANGO_ENV": "dev", **dict.fromkeys(empty, "")}, cwd=tmp_path)

    assert_usable_dev_setup(seen, tmp_path)
    assert seen["API_PAGE_SIZE"] == 20


def test_env_file_fills_in_only_what_the_environment_does_not_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("SAAS_T_FILE=file\nSAAS_T_BOTH=file\nSAAS_T_EMPTY=\nexport SAAS_T_Q='a b'\n")
    monkeypatch.setattr(environment, "DOTENV", dotenv)
    monkeypatch.setenv("SAAS_T_BOTH", "environment")
    try:
        environment.environment_load()
        seen = {name: os.environ.get(f"SAAS_T_{name}") for name in ("FILE", "BOTH", "EMPTY", "Q")}
    finally:
        for name in ("SAAS_T_FILE", "SAAS_T_EMPTY", "SAAS_T_Q"):
            os.environ.pop(name, None)
    assert seen == {"FILE": "file", "BOTH": "environment", "EMPTY": None, "Q": "a b"}
