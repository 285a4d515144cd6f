"""One HTTP request to an address the caller resolved and checked, never to the name again.

Outbound calls to hosts an organization names (its webhook endpoints, its identity provider,
the domains it proves) check that the name resolves only to addresses we may call. If the
request then resolved the name itself, a name answering differently the second time (DNS
rebinding) could point it into our own network. So the caller resolves once
(`host_addresses`), checks what it got, and `pinned_request` connects to one of those
addresses, while the Host header and the TLS certificate check still use the name.

The request follows no redirects (http.client never does), and its answer is read against one
deadline, so a server sending a byte at a time cannot hold a worker for a timeout per byte.
"""

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def host_addresses(hostname: str, port: int) -> list[Address]:
    """Every address `hostname` resolves to (once each, in the resolver's order); OSError
    when it does not resolve."""
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:
        raise OSError(f"{hostname} is not a valid host name") from exc
    found: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in found:
            found.append(address)
    return found


def _connect(address: Address, port: int, connect_timeout: float, timeout: float) -> socket.socket:
    sock = socket.create_connection((str(address), port), connect_timeout)
    sock.settimeout(timeout)
    return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(
        self, hostname: str, port: int, address: Address, timeout: float, connect_timeout: float
    ) -> None:
        super().__init__(hostname, port, timeout=timeout)
        self._address, self._timeouts = address, (connect_timeout, timeout)

    def connect(self) -> None:
        self.sock = _connect(self._address, self.port, *self._timeouts)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(
        self, hostname: str, port: int, address: Address, timeout: float, connect_timeout: float
    ) -> None:
        super().__init__(hostname, port, timeout=timeout, context=ssl.create_default_context())
        self._address, self._timeouts = address, (connect_timeout, timeout)

    def connect(self) -> None:
        sock = _connect(self._address, self.port, *self._timeouts)
        # The certificate is checked against the host name, though we connect to an address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes  # at most the request's max_bytes


def pinned_request(
    *,
    scheme: str,
    hostname: str,
    port: int,
    address: Address,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None = None,
    timeout: float,
    max_bytes: int,
    connect_timeout: float | None = None,
) -> Answer:
    """`method path` on `hostname` (Host header, TLS name), connected to `address`; reads at
    most `max_bytes` of the answer (ask for one more than you accept to tell a larger one).
    `timeout` bounds the answer once connected (`connect_timeout`, else `timeout`, the
    connection). OSError or http.client.HTTPException when it fails (TimeoutError on time)."""
    kind = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = kind(hostname, port, address, timeout, connect_timeout or timeout)
    try:
        connection.connect()
        deadline = time.monotonic() + timeout
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        answer = b""
        while len(answer) < max_bytes:
            if time.monotonic() > deadline:
                raise TimeoutError("the answer took too long")
            chunk = response.read1(max_bytes - len(answer))
            if not chunk:
                break
            answer += chunk
    finally:
        connection.close()
    return Answer(response.status, answer)
