import os
import secrets

import pytest


@pytest.fixture
def production_env() -> dict[str, str]:
    """A child process's environment with production settings and real-looking secrets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "LOG_"))}
    env.update(
        DJANGO_ENV="production",
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY=secrets.token_urlsafe(50),
        JWT_SIGNING_KEY=secrets.token_urlsafe(50),
        SENTRY_DSN="",
    )
    return env
