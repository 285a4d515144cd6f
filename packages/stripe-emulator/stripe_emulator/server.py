"""`EmulatorServer`: the emulator on a real socket, in a background thread or the foreground."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Any

from .app import Emulator, make_handler


class EmulatorServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        state_file: str | None = None,
        webhook_max_attempts: int = 5,
        webhook_backoff: float = 1.0,
        public_url: str | None = None,
        **config: Any,
    ) -> None:
        """`config` sets Config fields, e.g. retry_schedule_days=[1, 2], dunning_final_action."""
        self.emulator = Emulator(
            state_file,
            webhook_max_attempts=webhook_max_attempts,
            webhook_backoff=webhook_backoff,
            public_url=public_url,
        )
        for name, value in config.items():
            if not hasattr(self.emulator.store.config, name):
                raise TypeError(f"unknown emulator setting: {name}")
            setattr(self.emulator.store.config, name, value)
        self.httpd = ThreadingHTTPServer((host, port), make_handler(self.emulator))
        self.httpd.daemon_threads = True
        self.webhook = (webhook_url, webhook_secret)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def store(self) -> Any:
        return self.emulator.store

    def _prepare(self) -> None:
        url, secret = self.webhook
        if url:
            if not secret:
                raise ValueError("webhook_url needs webhook_secret (the whsec_... to sign with)")
            self.emulator.register_startup_webhook(url, secret)

    def start(self) -> EmulatorServer:
        """Serve in a daemon thread; returns self (so `EmulatorServer().start().url` works)."""
        self._prepare()
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.1,), daemon=True, name="stripe-emulator"
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._prepare()
        try:
            self.httpd.serve_forever()
        finally:
            self.emulator.dispatcher.close()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.emulator.dispatcher.close()
        if self._thread:
            self._thread.join(timeout=5)

    def reset(self) -> None:
        """Forget every object and event (the startup webhook endpoint is kept)."""
        self.emulator.reset()
