"""Settings refuse to start insecurely outside dev/test."""

import subprocess
import sys

import pytest

from tests.conftest import REPO

LOAD = "import django; from django.conf import settings; settings.INSTALLED_APPS; print('ok')"
GOOD_KEYS = {
    "SECRET_KEY": "production-secret-key-0123456789abcdef",
    "JWT_SIGNING_KEY": "production-jwt-signing-key-0123456789abcdef",
}


def load_settings(**env: str) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings"}
    return subprocess.run(
        [sys.executable, "-c", LOAD],
        cwd=REPO,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=False,
    )


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
