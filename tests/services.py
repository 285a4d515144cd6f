"""Real outside parts for tests: an SMTP sink and a Celery worker in a child process."""

import email
import email.policy
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

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
