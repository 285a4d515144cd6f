"""PostgreSQL restarts under a running server: requests fail cleanly with 503 in the one error
format (never a 500 or a traceback) and succeed again without restarting the process."""

import os
import subprocess
import sys
import uuid

from tests.support.faults import OwnPostgres
from tests.support.processes import REPO

DEMO_HOST = "demo.localhost"


def _child_env(database_url: str) -> dict[str, str]:
    # Its own cache prefix and queue: nothing this server does may reach the test run's.
    tag = uuid.uuid4().hex[:8]
    return {
        "DATABASE_URL": database_url,
        "CACHE_KEY_PREFIX": f"fault-pg-{tag}",
        "CELERY_QUEUE": f"fault-pg-{tag}",
    }


def test_requests_get_503_while_postgres_is_down_and_200_after_it_restarts(
    own_postgres: OwnPostgres, start_server
) -> None:
    env = _child_env(own_postgres.url)
    for command in (["migrate_schemas", "--noinput", "-v", "0"], ["seed_demo"]):
        subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *command],
            cwd=REPO,
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )
    server = start_server(**env)
    auth = server.login(DEMO_HOST, "demo@example.com", "demo-password-2026")
    assert server.get("/api/v1/projects/", DEMO_HOST, auth=auth).status_code == 200

    own_postgres.stop()

    for path in ("/api/v1/projects/", "/api/v1/members/"):
        response = server.get(path, DEMO_HOST, auth=auth)
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["code"] == "database_unavailable"
        assert "Traceback" not in response.text
    login = server.post(
        "/api/v1/auth/login/",
        DEMO_HOST,
        json={"email": "demo@example.com", "password": "demo-password-2026"},
    )
    assert login.status_code == 503
    assert login.json()["error"]["code"] == "database_unavailable"
    ready = server.get("/readyz", "localhost")
    assert ready.status_code == 503

    own_postgres.start()

    assert server.get("/api/v1/projects/", DEMO_HOST, auth=auth).status_code == 200
    assert server.get("/readyz", "localhost").json()["checks"]["database"] == "ok"
    assert server.process.poll() is None  # the same process, never restarted
