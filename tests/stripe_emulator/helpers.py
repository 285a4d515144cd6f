"""Small helpers shared by the emulator's tests."""

from typing import Any

import pytest
import stripe


def refused(call: Any) -> stripe.InvalidRequestError:
    """`call()` must be refused as a bad request (400); returns Stripe's error."""
    with pytest.raises(stripe.InvalidRequestError) as err:
        call()
    assert err.value.http_status == 400
    return err.value
