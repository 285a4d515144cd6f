"""Request handling: auth, idempotency, routing, expansion, errors, hosted pages."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import pages, portal, routing, validation
from .errors import StripeError
from .params import Params, as_list, decode
from .resources import (  # noqa: F401 - they register routes
    checkout,
    core,
    invoices,
    platform,
    schedules,
    subscriptions,
)
from .store import Obj, Store
from .webhooks import Dispatcher


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, body: Any, **headers: str) -> Response:
    return Response(status, json.dumps(body, indent=2).encode(), headers=headers)


def _api_key(auth: str) -> str:
    """The secret key from `Bearer sk_...` or HTTP Basic `sk_...:` (curl -u)."""
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value).decode().partition(":")[0].strip()
        except ValueError:
            return ""
    return value.strip() if scheme.lower() == "bearer" else ""


def _authenticate(key: str) -> None:
    if not key:
        raise StripeError(
            401,
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY').",
        )
    if not key.startswith(("sk_", "rk_")):
        # Stripe's answer has no error code: `api_key_invalid` isn't one of its codes.
        raise StripeError(401, f"Invalid API Key provided: {key[:8]}****")


class Emulator:
    """The whole emulator minus the socket: `handle()` takes a request and returns a reply."""

    def __init__(
        self,
        state_file: str | None = None,
        *,
        webhook_max_attempts: int = 5,
        webhook_backoff: float = 1.0,
        public_url: str | None = None,
    ) -> None:
        # Where people reach the hosted pages (checkout, portal, invoices) when that is not
        # the address API clients use (in docker compose: localhost vs the service name).
        self.public_url = public_url.rstrip("/") if public_url else None
        self.store = Store(state_file)
        self.dispatcher = Dispatcher(
            self.store, max_attempts=webhook_max_attempts, backoff=webhook_backoff
        )
        self.startup_webhook: tuple[str, str] | None = None

    def register_startup_webhook(self, url: str, secret: str) -> None:
        """The endpoint given at start (CLI/server); re-registered after a reset."""
        self.startup_webhook = (url, secret)
        with self.store.lock:
            if not self.store.all("webhook_endpoint", url=url):
                platform.register_endpoint(
                    self.store, {"url": url, "enabled_events": ["*"]}, secret
                )
                self.store.save()

    def reset(self) -> None:
        with self.store.lock:
            self.store.clear()
            self.store.save()
        if self.startup_webhook:
            self.register_startup_webhook(*self.startup_webhook)

    def transaction(self, fn: Callable[[], Response], *, mutating: bool = True) -> Response:
        """Run `fn` under the lock, atomically: a StripeError undoes its changes (unless it
        records a real outcome, like a declined payment); events go out once it commits."""
        st = self.store
        with st.lock:
            snapshot = st.snapshot() if mutating else ""
            st.outbox.clear()
            try:
                response = fn()
            except StripeError as exc:
                if mutating and not exc.commit:
                    st.rollback(snapshot)
                response = json_response(exc.status, exc.body())
            except Exception:  # an emulator bug: answer like Stripe's 500s, keep state sane
                traceback.print_exc()
                if mutating:
                    st.rollback(snapshot)
                response = json_response(
                    500,
                    StripeError(
                        500, "Internal emulator error (see its log).", type_="api_error"
                    ).body(),
                )
            for event in st.outbox:
                self.dispatcher.on_event(event)
            st.outbox.clear()
            if mutating:
                st.save()
            return response

    # --- the API ---------------------------------------------------------------------------
    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes, base_url: str
    ) -> Response:
        url = urlsplit(target)
        path, query = url.path.rstrip("/") or "/", url.query
        self.store.base_url = self.public_url or base_url
        if path.startswith("/v1/"):
            return self.api(method, path, query, headers, body)
        return self.hosted(method, path, body)

    def api(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Response:
        request_id = "req_" + uuid.uuid4().hex[:14]
        extra = {"Request-Id": request_id, "Stripe-Version": self.store.api_version}
        key = _api_key(headers.get("authorization", ""))
        raw = body.decode() if method == "POST" else ""
        params = {**decode(query), **decode(raw)}
        try:
            # In Stripe's order: who is asking, in which version, for what, with what.
            _authenticate(key)
            if headers.get("stripe-version"):
                validation.check_version(headers["stripe-version"])
            found = routing.resolve(method, path)
            if found is None:
                raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")
            # Before the handler: a refused request changes nothing and isn't remembered
            # for its idempotency key (Stripe saves only requests that started executing).
            validation.validate(method, path, params)
        except StripeError as exc:
            return json_response(exc.status, exc.body(), **extra)
        handler, ids = found
        idem = headers.get("idempotency-key", "") if method == "POST" else ""

        def run() -> Response:
            st = self.store
            if idem:
                replay = self._replay(key + ":" + idem, method + path + raw)
                if replay:
                    return replay
            st.api_version = headers.get("stripe-version") or st.api_version
            st.request = {"id": request_id, "idempotency_key": idem or None}
            try:
                response = json_response(200, self._present(handler(st, params, *ids), params))
            except StripeError as exc:
                if exc.status == 402 or exc.commit:  # Stripe saves results of executed requests
                    self._remember(
                        key + ":" + idem,
                        method + path + raw,
                        json_response(exc.status, exc.body()),
                        idem,
                    )
                raise
            self._remember(key + ":" + idem, method + path + raw, response, idem)
            return response

        response = self.transaction(run, mutating=method != "GET")
        response.headers = {**extra, **response.headers}
        if idem:
            response.headers["Idempotency-Key"] = idem
        return response

    def _present(self, obj: Obj, params: Params) -> Obj:
        out = self.store.render(obj)
        if out.get("object") != "list":
            for path in as_list(params, "expand"):
                self.store.expand(out, path)
        return out

    def _replay(self, key: str, fingerprint: str) -> Response | None:
        saved = self.store.idempotency.get(key)
        if saved is None:
            return None
        if saved["fingerprint"] != hashlib.sha256(fingerprint.encode()).hexdigest():
            idem = key.split(":", 1)[1]
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used with the same "
                f"parameters they were first used with. Try using a key other "
                f"than '{idem}' if you meant to execute a different request.",
                type_="idempotency_error",
                code="idempotency_key_in_use",
            )
        return Response(
            saved["status"], saved["body"].encode(), headers={"Idempotent-Replayed": "true"}
        )

    def _remember(self, key: str, fingerprint: str, response: Response, idem: str) -> None:
        if not idem:
            return
        saved, now = self.store.idempotency, time.time()
        for old in [k for k, v in saved.items() if v["at"] < now - 86400]:
            del saved[old]  # Stripe forgets keys after 24 hours
        saved[key] = {
            "fingerprint": hashlib.sha256(fingerprint.encode()).hexdigest(),
            "status": response.status,
            "body": response.body.decode(),
            "at": now,
        }

    # --- hosted pages and test helpers -------------------------------------------------------
    def hosted(self, method: str, path: str, body: bytes) -> Response:
        st = self.store
        form = dict(parse_qsl(body.decode(errors="replace")))
        if method == "POST" and path == "/_emulator/reset":
            self.reset()
            return json_response(200, {"reset": True})
        if path == "/_emulator/config":
            return self.transaction(lambda: self._config(method, body), mutating=method == "POST")
        if m := re.fullmatch(r"/_emulator/checkout/([^/]+)/complete", path):
            pm = (json.loads(body or b"{}") if body.startswith(b"{") else form).get(
                "payment_method"
            ) or "pm_card_visa"
            sid = m[1]
            return self.transaction(
                lambda: json_response(
                    200, st.render(checkout.complete(st, st.get(sid, "checkout.session"), pm))
                )
            )
        if m := re.fullmatch(r"/c/pay/([^/]+)", path):
            return self._checkout_page(method, m[1], form)
        if m := re.fullmatch(r"/p/session/([^/]+)", path):
            return self._portal_page(method, m[1], form)
        if m := re.fullmatch(r"/i/([^/]+?)(/pdf)?", path):
            inv_id, pdf = m[1], bool(m[2])
            render = pages.invoice_pdf if pdf else pages.invoice
            return self.transaction(
                lambda: Response(
                    200,
                    render(st.get(inv_id, "invoice")),
                    "application/pdf" if pdf else "text/html",
                ),
                mutating=False,
            )
        if path in ("/", "/_emulator/health"):
            return json_response(200, {"stripe_emulator": True, "api_version": st.api_version})
        return json_response(404, StripeError(404, f"Unrecognized URL ({method}: {path}).").body())

    def _config(self, method: str, body: bytes) -> Response:
        config = self.store.config
        if method == "POST":
            for name, value in json.loads(body or b"{}").items():
                if not hasattr(config, name):
                    raise StripeError(400, f"Unknown config field: {name}", param=name)
                setattr(config, name, value)
        return json_response(200, asdict(config))

    def _checkout_page(self, method: str, session_id: str, form: dict[str, str]) -> Response:
        """Checkout: GET shows the page; POST pays with the chosen test card and redirects
        to success_url, or shows the page again with the decline (the session stays open)."""
        st = self.store
        card = form.get("payment_method") or "pm_card_visa"

        def show(error: str | None = None, status: int = 200) -> Response:
            session = st.find(session_id, "checkout.session")
            if session is None:
                return _html(404, pages.not_found("Checkout"))
            return _html(status, pages.checkout(st, session, error, card))

        if method != "POST":
            return self.transaction(show, mutating=False)

        def pay() -> Response:
            session = checkout.complete(st, st.get(session_id, "checkout.session"), card)
            target = (session["success_url"] or "/").replace("{CHECKOUT_SESSION_ID}", session["id"])
            return Response(303, b"", "text/plain", {"Location": target})

        response = self.transaction(pay)
        if response.status < 400:
            return response
        message = json.loads(response.body)["error"]["message"]
        return self.transaction(lambda: show(message, response.status), mutating=False)

    def _portal_page(self, method: str, session_id: str, form: dict[str, str]) -> Response:
        """Billing portal: GET shows it (with the last action's result, once); each POST
        runs one action, then redirects back (POST-redirect-GET), or shows its error."""
        st = self.store

        def show(error: str | None = None, status: int = 200) -> Response:
            session = st.find(session_id, "billing_portal.session")
            if session is None:
                return _html(404, pages.not_found("billing portal"))
            notice = st.internal.get(session_id, {}).pop(portal.NOTICE, None)
            return _html(status, portal.render(st, session, notice=notice, error=error))

        if method != "POST":
            # Mutating when there is a notice to show: it is shown once.
            notice = portal.NOTICE in st.internal.get(session_id, {})
            return self.transaction(show, mutating=notice)

        def act() -> Response:
            session = st.get(session_id, "billing_portal.session")
            st.internal_of(session_id)[portal.NOTICE] = portal.act(st, session, form)
            return Response(303, b"", "text/plain", {"Location": f"/p/session/{session_id}"})

        response = self.transaction(act)
        if response.status < 400:
            return response
        message = json.loads(response.body)["error"]["message"]
        return self.transaction(lambda: show(message, response.status))


def _html(status: int, body: bytes) -> Response:
    return Response(status, body, "text/html; charset=utf-8", {"Cache-Control": "no-store"})


def make_handler(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's HTTP client expects
        server_version = "stripe-emulator"
        # Without this, headers and body as two small writes wait on delayed ACKs (~40 ms).
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            # Links (checkout, invoices) use the address the client reached us at.
            base = "http://" + (self.headers.get("Host") or "127.0.0.1")
            reply = emulator.handle(self.command, self.path, headers, body, base)
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass  # quiet: the SDK's own logging covers requests

    return Handler
