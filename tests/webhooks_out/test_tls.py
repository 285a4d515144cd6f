"""Deliveries over https, the only scheme outside dev and test: the request connects to the
address the SSRF check passed, yet the receiver's certificate is verified against the URL's
host name, so neither a certificate for another name nor one no trusted authority signed is
accepted. The receiver is real TLS on loopback; the client trusts a throwaway CA through
SSL_CERT_FILE, which OpenSSL reads when the delivery makes its TLS context."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from saas.webhooks_out.models import WebhookAttempt, WebhookDelivery
from saas.webhooks_out.services import webhook_delivery_attempt
from tests.factories import Org
from tests.support.tls import ThrowawayCa
from tests.support.webhook_receiver import Receiver, register_endpoint, verified


@pytest.fixture
def ca(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ThrowawayCa:
    authority = ThrowawayCa(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.pem_path))
    return authority


@pytest.fixture
def tls_receiver(ca: ThrowawayCa, request: pytest.FixtureRequest) -> Iterator[Receiver]:
    names = getattr(request, "param", ("localhost",))
    server = Receiver(tls=ca.server_context(*names)).start()
    yield server
    server.stop()


def _fresh(directory: Path) -> Path:
    directory.mkdir()
    return directory


def _deliver_one(org: Org, url: str) -> tuple[dict, str, WebhookAttempt]:
    created = register_endpoint(org, url, ["project.*"])
    org.ok("post", "projects/", {"name": "Rocket"})
    with org.tenant:
        (delivery,) = WebhookDelivery.objects.all()
        outcome = webhook_delivery_attempt(delivery_id=delivery.pk)
        attempt = WebhookAttempt.objects.get(delivery=delivery)
    return created, outcome, attempt


def test_a_receiver_with_a_valid_certificate_gets_the_signed_event(
    hooks: Org, tls_receiver: Receiver
) -> None:
    url = tls_receiver.url(host="localhost")
    assert url.startswith("https://localhost:")
    created, outcome, attempt = _deliver_one(hooks, url)
    assert outcome == "delivered", attempt.error
    assert attempt.status_code == 200
    (request,) = tls_receiver.received
    assert verified(created["secret"], request)["type"] == "project.created"


@pytest.mark.parametrize("tls_receiver", [("other.test",)], indirect=True)
def test_a_certificate_for_another_name_is_refused(hooks: Org, tls_receiver: Receiver) -> None:
    _, outcome, attempt = _deliver_one(hooks, tls_receiver.url(host="localhost"))
    assert outcome != "delivered"
    assert attempt.status_code is None
    assert attempt.error.startswith("TLS failed"), attempt.error
    assert tls_receiver.received == []


def test_a_certificate_no_trusted_authority_signed_is_refused(
    hooks: Org, tls_receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(ThrowawayCa(_fresh(tmp_path / "other")).pem_path))
    _, outcome, attempt = _deliver_one(hooks, tls_receiver.url(host="localhost"))
    assert outcome != "delivered"
    assert attempt.error.startswith("TLS failed"), attempt.error
    assert tls_receiver.received == []
