"""Real outside parts for tests: the app under gunicorn, Celery workers and beat in child
processes sharing this run's database and Redis, an SMTP sink, free loopback ports."""

import email
import email.policy
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import requests
from aiosmtpd.controller import Controller
from django.db import connection

from tests.support.http import BearerAuth

REPO = Path(__file__).resolve().parent.parent.parent

# Mail to this domain is refused by the sink with a permanent error (SmtpSink.handle_RCPT).
REFUSED_DOMAIN = "refused.test"


class SmtpSink:
    """An SMTP server on a loopback port that keeps every message it receives."""

    def __init__(self, port: int) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self.port = port
        self.controller = Controller(self, hostname="127.0.0.1", port=port)

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        """Refuses every address at REFUSED_DOMAIN for good (550), as a real server does
        for a mailbox that does not exist."""
        if address.lower().endswith("@" + REFUSED_DOMAIN):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def start(self) -> "SmtpSink":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def wait_for(self, to: str, *, timeout: float = 15.0) -> EmailMessage:
        """The first message to `to`, waiting for the worker to send it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for message in self.messages:
                    if to in str(message["To"]):
                        return message
            time.sleep(0.05)
        raise AssertionError(f"no email to {to} within {timeout}s")

    def sent_to(self, to: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if to in str(m["To"])]


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def body_html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def start_celery_worker(
    env: dict[str, str], cwd: str, *, loglevel: str = "warning", output: Any = None
) -> subprocess.Popen:
    """A worker (solo pool) on this run's queue; `output` (a file) takes what it writes."""
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            loglevel,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=cwd,
        env=env,
        stdout=output,
        stderr=output,
    )
    return process


def start_celery_beat(env: dict[str, str], cwd: str, directory: str) -> subprocess.Popen:
    """Celery beat on its schedule (the outbox relay, the sweeps), its state in `directory`."""
    return subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "--loglevel",
            "warning",
            "--schedule",
            f"{directory}/beat-schedule",
        ],
        cwd=cwd,
        env=env,
    )


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = 60.0) -> None:
    """Poll until `predicate()` is true: work done by another process (a worker, a server)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout}s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url_of_this_run() -> str:
    db = connection.settings_dict
    host = str(db["HOST"]).replace("/", "%2F")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{db['USER']}@{host}{port}/{db['NAME']}"


def subprocess_env(**overrides: str) -> dict[str, str]:
    """The environment a child process needs to share this test run's database and Redis."""
    return {**os.environ, "DATABASE_URL": database_url_of_this_run(), **overrides}


class RunningServer:
    def __init__(self, process: subprocess.Popen, port: int):
        self.process, self.port = process, port
        self.url = f"http://127.0.0.1:{port}"

    def get(self, path: str, host: str, **kwargs: object) -> requests.Response:
        return requests.get(self.url + path, headers={"Host": host}, timeout=10, **kwargs)  # type: ignore[arg-type]

    def login(self, host: str, email: str, password: str) -> BearerAuth:
        response = self.post(
            "/api/v1/auth/login/", host, json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        return BearerAuth(response.json()["access"])

    def post(self, path: str, host: str, **kwargs: object) -> requests.Response:
        return requests.post(self.url + path, headers={"Host": host}, timeout=10, **kwargs)  # type: ignore[arg-type]


def start_gunicorn(*, output: Any = None, log_level: str = "warning", **env: str) -> RunningServer:
    """The real WSGI app under gunicorn in a child process, on a free loopback port, with the
    production gunicorn settings (saas.observability.gunicorn_conf), once it answers.
    `output` takes its stdout and stderr (a file), `log_level` is gunicorn's."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:saas.observability.gunicorn_conf",
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "--log-level",
            log_level,
        ],
        cwd=REPO,
        env=subprocess_env(**env),
        stdout=output,
        stderr=output,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            return RunningServer(process, port)
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or slow to boot
            time.sleep(0.1)
    process.terminate()
    process.wait(timeout=10)
    raise RuntimeError("server did not start")


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


def saas_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    child_env = subprocess_env(**env)
    child_env.pop("DJANGO_ENV")  # as from a shell: `saas manage` runs in dev
    return subprocess.run(
        [sys.executable, "-m", "saas_devtools.cli", *args],
        cwd=REPO,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
