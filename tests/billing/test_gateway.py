"""The Stripe seam: nothing outside billing.gateway sees a Stripe exception, including
errors raised while a caller iterates a paged list (each page is a request)."""

import pytest

from billing import gateway
from billing.errors import PaymentProviderUnavailable


@pytest.fixture
def stripe_down(settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    gateway.reset_client()
    yield
    gateway.reset_client()


@pytest.mark.parametrize(
    "pages",
    [
        lambda: gateway.invoices_for_customer("cus_x"),
        lambda: gateway.events_since(created_gte=0),
    ],
)
def test_errors_while_iterating_are_billing_errors(stripe_down, pages) -> None:
    with pytest.raises(PaymentProviderUnavailable):
        list(pages())
