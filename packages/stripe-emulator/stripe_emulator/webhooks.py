"""Webhook delivery: Stripe's signature scheme, background sending, retries with backoff."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from .store import Obj, Store


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header: `t=<unix>,v1=<hex hmac_sha256(secret, "t.payload")>`."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def post(url: str, payload: str, signature: str, timeout: float) -> int:
    """POST the event; returns the HTTP status, or 0 when the endpoint could not be reached."""
    request = urllib.request.Request(  # noqa: S310 - endpoints are http(s) URLs the user set
        url,
        data=payload.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature,
            "User-Agent": "Stripe/1.0 (emulator)",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return 0


class Dispatcher:
    """Sends each event to every matching endpoint concurrently (order is not guaranteed,
    as on Stripe). A failed attempt is retried after backoff * 2**n seconds, up to
    max_attempts; an event's `pending_webhooks` drops as endpoints acknowledge it."""

    def __init__(
        self, st: Store, *, max_attempts: int = 5, backoff: float = 1.0, timeout: float = 5.0
    ) -> None:
        self.st, self.max_attempts, self.backoff, self.timeout = st, max_attempts, backoff, timeout
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="stripe-emu-webhook")
        self.closed = False

    def on_event(self, event: Obj) -> None:
        """Called once the event's request committed, lock held: snapshot payload, queue sends."""
        targets = [
            we
            for we in self.st.all("webhook_endpoint", status="enabled")
            if "*" in we["enabled_events"] or event["type"] in we["enabled_events"]
        ]
        event["pending_webhooks"] = len(targets)
        payload = json.dumps(event, indent=2)
        for we in targets:
            secret = self.st.internal_of(we["id"])["secret"]
            self._send(event["id"], we["id"], we["url"], secret, payload, 1)

    def _send(
        self, evt_id: str, we_id: str, url: str, secret: str, payload: str, attempt: int
    ) -> None:
        if not self.closed:
            self.pool.submit(self._deliver, evt_id, we_id, url, secret, payload, attempt)

    def _deliver(
        self, evt_id: str, we_id: str, url: str, secret: str, payload: str, attempt: int
    ) -> None:
        status = post(url, payload, sign(payload, secret), self.timeout)
        ok = 200 <= status < 300
        with self.st.lock:
            log = self.st.internal_of(evt_id).setdefault("deliveries", [])
            log.append({"endpoint": we_id, "attempt": attempt, "status": status})
            event = self.st.find(evt_id, "event")
            if ok and event:
                event["pending_webhooks"] = max(0, event["pending_webhooks"] - 1)
            self.st.save()
        if not ok and attempt < self.max_attempts:
            timer = threading.Timer(
                self.backoff * 2 ** (attempt - 1),
                self._send,
                (evt_id, we_id, url, secret, payload, attempt + 1),
            )
            timer.daemon = True
            timer.start()

    def close(self) -> None:
        self.closed = True
        self.pool.shutdown(wait=False, cancel_futures=True)
