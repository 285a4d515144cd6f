"""What gunicorn refuses before the application sees it is still answered in the one error
format (issue 13 #12: an over-long request line got gunicorn's HTML 414)."""

import json
import socket

import pytest

pytestmark = pytest.mark.slow


def _raw(port: int, request: bytes) -> tuple[str, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return status, headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (
            b"GET /api/v1/plans/?q=" + b"x" * 5000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n",
            414,
            "uri_too_long",
        ),
        (
            b"GET /api/v1/plans/ HTTP/1.1\r\nHost: localhost\r\n"
            + b"".join(b"X-H%d: v\r\n" % i for i in range(150))
            + b"\r\n",
            431,
            "headers_too_large",
        ),
        (b"GET /api/v1/plans/ HTTP/1.1 junk\r\nHost: localhost\r\n\r\n", 400, "malformed_request"),
    ],
    ids=["request line too long", "too many headers", "malformed request line"],
)
def test_gunicorns_refusals_are_json_errors(db, start_server, request_bytes, status, code) -> None:
    server = start_server()
    status_line, headers, body = _raw(server.port, request_bytes)
    assert status_line.split(" ", 2)[1] == str(status)
    assert headers["content-type"] == "application/json"
    assert headers["x-content-type-options"] == "nosniff"
    error = json.loads(body)["error"]
    assert error["code"] == code
    assert error["message"]
    assert len(error["request_id"]) == 32
