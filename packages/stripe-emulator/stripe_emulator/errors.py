"""Stripe-format API errors: `{"error": {"type", "code", "message", "param", ...}}`."""

from __future__ import annotations

from typing import Any

DOCS = "https://docs.stripe.com/error-codes/"


class StripeError(Exception):
    """Raised anywhere in a request; app.py turns it into Stripe's error body and status."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        commit: bool = False,
    ) -> None:
        super().__init__(message)
        self.commit = commit  # keep the request's changes (a recorded failed payment attempt)
        self.status, self.message, self.type = status, message, type_
        self.code, self.param, self.decline_code = code, param, decline_code

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = DOCS + self.code.replace("_", "-")
        if self.param is not None:
            err["param"] = self.param
        if self.decline_code:
            err["decline_code"] = self.decline_code
        return {"error": err}


def missing(param: str) -> StripeError:
    return StripeError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def invalid(param: str, message: str | None = None) -> StripeError:
    """A value Stripe refuses. No code: Stripe has none for this (`parameter_invalid` isn't
    one; its codes are listed in the SDK, e.g. `PaymentIntent.LastPaymentError.code`)."""
    return StripeError(400, message or f"Invalid value for {param}.", param=param)


def unknown(param: str) -> StripeError:
    return StripeError(
        400, f"Received unknown parameter: {param}", code="parameter_unknown", param=param
    )


def empty(param: str) -> StripeError:
    """Stripe reads "" as "unset", which only some parameters allow."""
    return StripeError(
        400,
        f"You passed an empty string for '{param}'. We assume empty values are an attempt to "
        f"unset a parameter; however '{param}' cannot be unset. You should remove '{param}' "
        "from your request or supply a non-empty value.",
        code="parameter_invalid_empty",
        param=param,
    )


def no_such(kind: str, obj_id: str, param: str | None = None) -> StripeError:
    """404 for an id in the path; 400 naming the parameter for an id passed as a parameter."""
    label = kind.split(".")[-1].replace("_", " ")
    return StripeError(
        404 if param is None else 400,
        f"No such {label}: '{obj_id}'",
        code="resource_missing",
        param=param or "id",
    )


def card_error(
    code: str, decline_code: str | None, message: str, *, commit: bool = False
) -> StripeError:
    return StripeError(
        402, message, type_="card_error", code=code, decline_code=decline_code, commit=commit
    )
