"""Reads the environment once; every settings part imports `env` from here.

The `config` package completed the environment from `.env` as it loaded, and unset every
empty variable (config/environment.py): `NAME=` means NAME takes its default.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parents[2]

env = environ.Env()

# dev and test get working defaults for secrets; anything else ("production") must be told.
DJANGO_ENV = env.str("DJANGO_ENV", default="production")
if DJANGO_ENV not in {"dev", "test", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be dev, test or production, not {DJANGO_ENV!r}")
IS_DEV_OR_TEST = DJANGO_ENV in {"dev", "test"}


def secret(name: str, *, dev_default: str) -> str:
    """A secret with a fixed default in dev/test only; required elsewhere."""
    if IS_DEV_OR_TEST:
        return env.str(name, default=dev_default)
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set when DJANGO_ENV={DJANGO_ENV}")
    return value
