"""`make run` as a newcomer sees it, in a terminal (a pty): the first migration shows its
progress, the Stripe SDK does not chatter, each request is one access-log line naming its
organization, the server listens on 127.0.0.1 only, and Ctrl-C stops it all without
make's "Error"."""

import os
import pty
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests

from tests.support.processes import REPO, database_url_of_this_run, free_port, subprocess_env

pytestmark = pytest.mark.slow


class Terminal:
    """A process group on a pseudo-terminal, its output collected as it comes."""

    def __init__(self, command: list[str], env: dict[str, str]):
        primary, secondary = pty.openpty()
        self.process = subprocess.Popen(  # noqa: S603 - make, from PATH
            command,
            cwd=REPO,
            env=env,
            stdin=secondary,
            stdout=secondary,
            stderr=secondary,
            start_new_session=True,
        )
        os.close(secondary)
        self._primary = primary
        self._chunks: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._primary, 65536)
            except OSError:
                return
            if not chunk:
                return
            self._chunks.append(chunk)

    @property
    def output(self) -> str:
        return b"".join(self._chunks).decode(errors="replace").replace("\r\n", "\n")

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"never printed {text!r}:\n{self.output[-5000:]}")
            time.sleep(0.2)

    def ctrl_c(self) -> int:
        """What the terminal does on Ctrl-C: SIGINT to the whole foreground group."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=60)

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        time.sleep(0.2)  # the reader drains what is left
        os.close(self._primary)


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on `port` (from /proc/net/tcp)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                found.add(address)
    return found


def _wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(url, timeout=5)
            return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def database() -> Iterator[str]:
    """A database that does not exist yet: `saas dev` makes it, as for a newcomer."""
    name = f"saas_make_run_{uuid.uuid4().hex[:8]}"
    server = database_url_of_this_run().rsplit("/", 1)[0]
    yield f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_make_run_in_a_terminal(database: str, tmp_path: Path) -> None:
    port = free_port()
    env = subprocess_env(
        DATABASE_URL=database,
        PORT=str(port),
        STRIPE_EMULATOR_PORT=str(free_port()),
        SAAS_DATA_DIR=str(tmp_path),
        # Queues and cache keys of its own: this stack's worker must not take the suite's tasks.
        CELERY_QUEUE=f"make-run-{uuid.uuid4().hex[:8]}",
        CACHE_KEY_PREFIX=f"make-run-{uuid.uuid4().hex[:8]}",
    )
    for name in ("DJANGO_ENV", "TEST_DATABASE_NAME", "EMAIL_URL", "STRIPE_SECRET_KEY"):
        env.pop(name, None)
    env.pop("STRIPE_API_BASE", None)
    terminal = Terminal(["make", "run"], env)
    try:
        terminal.wait_for("[saas] API (public):", timeout=300)
        startup = terminal.output
        assert "[saas] migrating the database" in startup
        assert "accounts.0001_initial" in startup  # each migration, as it is applied
        assert "database up to date (" in startup
        assert "demo-viewer@example.com (viewer)" in startup  # the richer seed
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{base}/healthz")
        assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing else
        host = {"Host": "demo.localhost"}
        login = requests.post(
            f"{base}/api/v1/auth/login/",
            headers=host,
            json={"email": "demo@example.com", "password": "demo-password-2026"},
            timeout=30,
        )
        assert login.status_code == 200, login.text
        request_id = uuid.uuid4().hex
        projects = requests.get(
            f"{base}/api/v1/projects/",
            headers={
                **host,
                "Authorization": f"Bearer {login.json()['access']}",
                "X-Request-ID": request_id,
            },
            timeout=30,
        )
        assert projects.status_code == 200
        assert len(projects.json()["results"]) == 2
        refused = requests.get(f"{base}/api/v1/projects/", headers=host, timeout=30)
        assert refused.status_code == 401
        time.sleep(1)  # the lines reach the terminal

        lines = [line for line in terminal.output.splitlines() if request_id in line]
        assert len(lines) == 1, lines
        assert "saas.access" in lines[0]
        assert "tenant=demo" in lines[0]
        assert " 200 " in lines[0]
        assert "Unauthorized:" not in terminal.output  # Django's 4xx warning repeats the line
        assert "INFO stripe" not in terminal.output

        code = terminal.ctrl_c()
        time.sleep(0.5)
        output = terminal.output
        # make itself got the SIGINT too and ends by it, silently, as a shell expects; what
        # it must not do is report its recipe failed ("make: *** [run] Error 1").
        assert code in (0, -signal.SIGINT), output[-3000:]
        assert "make: ***" not in output, output[-3000:]
        assert "Error" not in output.split("[saas] Admin:")[-1], output[-3000:]
        assert "Traceback" not in output
        assert "[saas] stopped" in output
    finally:
        terminal.close()
