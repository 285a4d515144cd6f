"""Public-host routes of custom domains, under /api/v1/: the TLS front's question."""

from django.urls import path

from . import apis

urlpatterns = [path("tls/ask/", apis.TlsAskApi.as_view(), name="tls-ask")]
