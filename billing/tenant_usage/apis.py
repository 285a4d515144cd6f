"""GET /api/v1/usage/ on the tenant host: owners, admins and billing managers."""

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import Capability
from accounts.tenant_api import TenantApi
from api.docs import ERRORS_READ

from .selectors import next_invoice_preview, usage_summary
from .serializers import UsageReportOutput


class UsageApi(TenantApi):
    capabilities = {"GET": Capability.BILLING_MANAGE}

    @extend_schema(
        tags=["billing"],
        summary="Show usage of the current period",
        description="Each metric of the current billing period (the subscription's, or the "
        "calendar month without one) with the plan's limit, a daily history, and Stripe's "
        "preview of the next invoice (null with a reason when there is no subscription or "
        "Stripe cannot be reached). Owners, admins and billing managers.",
        responses={200: UsageReportOutput, **ERRORS_READ},
    )
    def get(self, request: Request) -> Response:
        summary = usage_summary(tenant=self.tenant)
        invoice, reason = next_invoice_preview(account=summary.account)
        body = {
            "period": asdict(summary.period),
            "metrics": {name: asdict(m) for name, m in summary.metrics.items()},
            "daily": [asdict(day) for day in summary.daily],
            "next_invoice": asdict(invoice) if invoice else None,
            "next_invoice_unavailable": reason,
        }
        return Response(UsageReportOutput(body).data)
