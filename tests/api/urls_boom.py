"""A tenant URLconf with a view that fails, to see what a 500 looks like."""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.models import Plan
from config.urls_tenants import handler404, handler500  # noqa: F401
from config.urls_tenants import urlpatterns as tenant_urlpatterns


class Boom(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("secret internals: password=hunter2")


class MissingRow(APIView):
    """A lookup that cannot miss unless the code is wrong (here: a row that is not there)."""

    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"plan": Plan.objects.get(code="no-such-plan").code})


def plain_boom(request):
    raise RuntimeError("secret internals outside DRF")


urlpatterns = [
    *tenant_urlpatterns,
    path("boom/", Boom.as_view()),
    path("plain-boom/", plain_boom),
    path("missing-row/", MissingRow.as_view()),
]
