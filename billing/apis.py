"""Billing endpoints: the public plan catalog, and each tenant's subscription, checkout,
plan changes, portal and invoices. Owner, admin and billing roles manage billing; the other
roles read at most."""

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import Capability
from accounts.tenant_api import TenantApi
from api.base import PublicApi
from api.docs import (
    E400,
    E402,
    E404,
    E409,
    E500,
    ERRORS_READ,
    ERRORS_WRITE,
    error_doc,
    paginated,
)
from api.no_store import NoStoreMixin
from api.serializers import ChoiceField, PageQuery, StrictSerializer

from .selectors import billing_account_get, invoice_list, plan_list_public
from .services.subscriptions import (
    checkout_start,
    portal_start,
    subscription_change,
    subscription_preview_change,
    subscription_set_cancel_at_period_end,
)

C = Capability

E5XX = {
    502: error_doc("The payment provider failed."),
    503: error_doc("The payment provider is unreachable; retry shortly."),
}
BILLING_WRITE_ERRORS = {**ERRORS_WRITE, **E402, **E409, **E5XX}


class PriceOutput(serializers.Serializer):
    lookup_key = serializers.CharField(help_text="Names the price in checkout and changes.")
    amount = serializers.IntegerField(help_text="Minor units (cents) per interval (per seat).")
    currency = serializers.CharField()
    interval = serializers.CharField()
    per_seat = serializers.BooleanField()
    metered = serializers.BooleanField()


class PlanOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    trial_days = serializers.IntegerField()
    seats_limit = serializers.IntegerField(allow_null=True, help_text="null: unlimited")
    projects_limit = serializers.IntegerField(allow_null=True, help_text="null: unlimited")
    api_requests_per_minute = serializers.IntegerField()
    features = serializers.ListField(child=serializers.CharField())
    prices = serializers.SerializerMethodField()

    @extend_schema_field(PriceOutput(many=True))
    def get_prices(self, plan: Any) -> Any:
        return PriceOutput([p for p in plan.prices.all() if p.active], many=True).data


class PlanListApi(PublicApi):
    @extend_schema(
        tags=["billing"],
        summary="List plans",
        operation_id="plans_list",
        description="The public plan catalog with prices and entitlements, in catalog order, "
        "in the page envelope every list answers with.",
        parameters=[PageQuery],
        responses={
            200: paginated(PlanOutput, name="PaginatedPlanList"),
            **E400,
            **E404,
            **E500,
        },
    )
    def get(self, request: Request) -> Response:
        return self.paginate(plan_list_public(), PlanOutput)


class SubscriptionOutput(serializers.Serializer):
    plan = serializers.CharField(source="plan.code")
    price = serializers.CharField(source="price.lookup_key", allow_null=True, default=None)
    status = serializers.CharField(help_text="none (free plan), trialing, active, past_due, ...")
    seats = serializers.IntegerField(source="quantity")
    current_period_end = serializers.DateTimeField(allow_null=True)
    trial_end = serializers.DateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()
    scheduled_change = serializers.CharField(
        source="scheduled_price.lookup_key",
        allow_null=True,
        default=None,
        help_text="The price Stripe switches to at current_period_end (a scheduled "
        "downgrade), or null.",
    )


class SubscriptionApi(TenantApi):
    capabilities = {"GET": C.BILLING_READ}

    @extend_schema(
        tags=["billing"],
        summary="Show the subscription",
        description="The plan and price, status, seats, current period and trial end, "
        "whether it ends at the period end, and `scheduled_change`: the price Stripe switches "
        "to at the period end. Every role reads it.",
        responses={200: SubscriptionOutput, **ERRORS_READ},
    )
    def get(self, request: Request) -> Response:
        return Response(SubscriptionOutput(billing_account_get(tenant=self.tenant)).data)


class PriceSelectionInput(StrictSerializer):
    price = serializers.CharField(max_length=100, help_text="A price's lookup_key.")


class SubscriptionChangeInput(PriceSelectionInput):
    proration_date = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="The preview's proration_date, to be charged exactly what it showed "
        "(null, as a preview of a change with nothing to prorate answers, is the same as none).",
    )


class BillingSessionOutput(serializers.Serializer):
    url = serializers.URLField()


class CheckoutApi(NoStoreMixin, TenantApi):
    capabilities = {"POST": C.BILLING_MANAGE}

    @extend_schema(
        tags=["billing"],
        summary="Start a Checkout Session",
        description="For the first paid subscription. Open the returned URL to pay; the "
        "subscription appears when Stripe confirms it.",
        request=PriceSelectionInput,
        responses={201: BillingSessionOutput, **BILLING_WRITE_ERRORS},
        examples=[
            OpenApiExample("Pro, monthly", value={"price": "pro-monthly"}, request_only=True)
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.validate(PriceSelectionInput, request)
        session = checkout_start(
            tenant=self.tenant, price_lookup_key=data["price"], host=request.get_host()
        )
        return Response({"url": session.url}, status=201)


class PlanChangeOutput(serializers.Serializer):
    effective = ChoiceField(
        choices=["now", "period_end"],
        help_text="now: prorated and invoiced at once (upgrades, interval changes, a move to "
        "metered billing); period_end: switched by Stripe at the period end (downgrades).",
    )
    effective_at = serializers.DateTimeField(
        allow_null=True, help_text="When a period_end change takes effect; null for now."
    )
    amount_due_now = serializers.IntegerField(
        help_text="Minor units invoiced now: Stripe's own invoice preview (0 for period_end)."
    )
    currency = serializers.CharField()
    proration_date = serializers.IntegerField(
        allow_null=True, help_text="Send it with the change to be charged this amount."
    )
    subscription = SubscriptionOutput(source="account")


class PreviewChangeApi(TenantApi):
    capabilities = {"POST": C.BILLING_MANAGE}

    @extend_schema(
        tags=["billing"],
        summary="Preview a plan change",
        description="What changing to this price would cost now (Stripe's invoice preview); "
        "changes nothing.",
        request=PriceSelectionInput,
        responses={200: PlanChangeOutput, **BILLING_WRITE_ERRORS},
        examples=[
            OpenApiExample("Pro, monthly", value={"price": "pro-monthly"}, request_only=True)
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.validate(PriceSelectionInput, request)
        change = subscription_preview_change(tenant=self.tenant, price_lookup_key=data["price"])
        return Response(PlanChangeOutput(change).data)


class ChangeApi(TenantApi):
    capabilities = {"POST": C.BILLING_MANAGE}

    @extend_schema(
        tags=["billing"],
        summary="Change the plan",
        description="Upgrades and interval changes apply now, prorated and charged at once "
        "(a declined card changes nothing: 402); downgrades are scheduled in Stripe for the "
        "end of the paid period; the current price again drops a scheduled change. 409: the "
        "same price, a change already scheduled, a past_due subscription, or none.",
        request=SubscriptionChangeInput,
        responses={200: PlanChangeOutput, **BILLING_WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "At the previewed price",
                value={"price": "pro-monthly", "proration_date": 1795500000},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.validate(SubscriptionChangeInput, request)
        change = subscription_change(
            tenant=self.tenant,
            price_lookup_key=data["price"],
            proration_date=data.get("proration_date"),
        )
        return Response(PlanChangeOutput(change).data)


class CancelApi(TenantApi):
    capabilities = {"POST": C.BILLING_MANAGE}

    @extend_schema(
        tags=["billing"],
        summary="Cancel at period end",
        description="The subscription stays as it is until the end of the paid period, then "
        "ends (`cancel_at_period_end` is true meanwhile); resume undoes it until then.",
        request=None,
        responses={200: SubscriptionOutput, **BILLING_WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        account = subscription_set_cancel_at_period_end(tenant=self.tenant, cancel=True)
        return Response(SubscriptionOutput(account).data)


class ResumeApi(TenantApi):
    capabilities = {"POST": C.BILLING_MANAGE}

    @extend_schema(
        tags=["billing"],
        summary="Resume before the period ends",
        description="Undoes a cancellation that has not taken effect yet.",
        request=None,
        responses={200: SubscriptionOutput, **BILLING_WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        account = subscription_set_cancel_at_period_end(tenant=self.tenant, cancel=False)
        return Response(SubscriptionOutput(account).data)


class PortalApi(NoStoreMixin, TenantApi):
    capabilities = {"POST": C.BILLING_MANAGE}

    @extend_schema(
        tags=["billing"],
        summary="Open the customer portal",
        description="Cards, invoices and cancellation on Stripe's hosted portal.",
        request=None,
        responses={201: BillingSessionOutput, **BILLING_WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        session = portal_start(tenant=self.tenant, host=request.get_host())
        return Response({"url": session.url}, status=201)


class InvoiceOutput(serializers.Serializer):
    id = serializers.CharField(source="stripe_invoice_id")
    number = serializers.CharField()
    status = serializers.CharField()
    currency = serializers.CharField()
    total = serializers.IntegerField(help_text="Minor units.")
    amount_due = serializers.IntegerField()
    amount_paid = serializers.IntegerField()
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)
    hosted_invoice_url = serializers.CharField()
    invoice_pdf = serializers.CharField()
    created = serializers.DateTimeField()


class InvoiceListApi(TenantApi):
    capabilities = {"GET": C.BILLING_READ}

    @extend_schema(
        tags=["billing"],
        summary="List invoices",
        operation_id="billing_invoices_list",
        description="Newest first, mirrored from Stripe.",
        parameters=[PageQuery],
        responses={
            200: paginated(InvoiceOutput, name="PaginatedInvoiceList"),
            **E400,
            **ERRORS_READ,
        },
    )
    def get(self, request: Request) -> Response:
        return self.paginate(invoice_list(), InvoiceOutput)
