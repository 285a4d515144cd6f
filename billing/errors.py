"""Billing errors, in the project's one error vocabulary."""

from saas.errors import ApplicationError


class BillingError(ApplicationError):
    status_code = 502
    default_code = "billing_error"


class PaymentDeclined(BillingError):
    status_code = 402
    default_code = "payment_declined"


class PaymentProviderUnavailable(BillingError):
    """Stripe could not be reached or is rate limiting: try again later."""

    status_code = 503
    default_code = "payment_provider_unavailable"
    retry_after = 30


class PaymentProviderError(BillingError):
    status_code = 502
    default_code = "payment_provider_error"


class InvalidBillingRequest(BillingError):
    status_code = 400
    default_code = "invalid_billing_request"


class WebhookSignatureInvalid(BillingError):
    status_code = 400
    default_code = "invalid_signature"


class EntitlementExceeded(ApplicationError):
    """The plan does not include this (more seats, projects, a feature): upgrade to do it."""

    status_code = 402
    default_code = "entitlement_exceeded"
