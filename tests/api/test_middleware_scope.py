"""The HTML side's middlewares (sessions, CSRF, the session's user, messages, allauth, static
files, the pages' CSP) run for the pages and not for the API (api.middleware's
ApiBypassMiddleware): an API request never loads a session or sets a cookie, and a session
cookie is no credential there; the admin, its sign-in and CSRF checks work as before."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts.models import Role, User
from api.middleware import ApiBypassEndMiddleware, ApiBypassMiddleware
from tests.factories import PASSWORD, Org
from tests.support.http import host_of

pytestmark = pytest.mark.django_db

OPERATOR = "operator@example.test"


@pytest.fixture
def operator_client() -> Client:
    """A superuser signed in through the admin's form (the session and CSRF middlewares at
    work: the form's token, the session cookie)."""
    User.objects.create_superuser(email=OPERATOR, password=PASSWORD)
    client = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    form = client.get("/admin/login/")
    assert form.status_code == 200
    token = form.context["csrf_token"]
    fields = {"username": OPERATOR, "password": PASSWORD, "next": "/admin/"}
    signed_in = client.post("/admin/login/", {**fields, "csrfmiddlewaretoken": token})
    assert signed_in.status_code == 302, signed_in.content[:500]
    assert signed_in["Location"] == "/admin/"
    assert "sessionid" in client.cookies
    return client


def _html_side_ran(request: HttpRequest) -> dict[str, bool]:
    return {
        "session": hasattr(request, "session"),
        "csrf": "CSRF_COOKIE" in request.META,
        "session user": hasattr(request, "auser"),  # AuthenticationMiddleware's
        "messages": hasattr(request, "_messages"),
        "allauth": hasattr(request, "allauth"),
    }


def test_an_api_request_skips_the_html_side(
    acme: Org, make_member: Callable[..., User], client_for: Callable[..., APIClient]
) -> None:
    member = make_member(acme.tenant, Role.MEMBER)
    client = client_for(acme.tenant, member)
    # A browser that also holds the admin's cookies: none of them is read on the API.
    client.cookies["sessionid"] = "x" * 32
    client.cookies["csrftoken"] = "y" * 32
    response = client.get("/api/v1/projects/")
    assert response.status_code == 200, response.content[:300]
    request = response.wsgi_request
    assert not any(_html_side_ran(request).values()), _html_side_ran(request)
    # request.user is what DRF authenticated (the bearer token), not a lazy session lookup.
    assert request.__dict__["user"].pk == member.pk
    assert not response.cookies  # no session, CSRF or messages cookie
    assert "Cookie" not in response.get("Vary", "")
    assert "Content-Security-Policy" not in response
    # What every answer carries stays: security headers, the request id, CORS' Vary.
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Request-ID"]
    assert response["Content-Length"] == str(len(response.content))


def test_an_api_error_skips_the_html_side_too(
    acme: Org, client_for: Callable[..., APIClient]
) -> None:
    unknown = client_for(acme.tenant).get("/api/v1/no-such-thing/")
    assert unknown.status_code == 404
    assert unknown["Content-Type"] == "application/json"
    assert not any(_html_side_ran(unknown.wsgi_request).values())
    anonymous = client_for(acme.tenant).get("/api/v1/projects/")
    assert anonymous.status_code == 401
    assert isinstance(anonymous.wsgi_request.__dict__["user"], AnonymousUser)
    assert not any(_html_side_ran(anonymous.wsgi_request).values())


def test_a_session_is_no_credential_on_the_api(
    acme: Org, make_member: Callable[..., User], operator_client: Client
) -> None:
    # The operator's signed-in browser, on a tenant host's API: not authenticated.
    make_member(acme.tenant, Role.ADMIN, user=User.objects.get(email=OPERATOR))
    response = operator_client.get("/api/v1/auth/user/", HTTP_HOST=host_of(acme.tenant))
    assert response.status_code == 401
    assert not response.cookies


def test_the_admin_signs_in_with_a_session_and_csrf(operator_client: Client) -> None:
    index = operator_client.get("/admin/")
    assert index.status_code == 200
    ran = _html_side_ran(index.wsgi_request)
    assert all(ran.values()), ran
    assert index.wsgi_request.user.get_username() == OPERATOR
    assert index["Content-Security-Policy"]
    assert index["X-Frame-Options"] == "DENY"


def test_csrf_is_enforced_on_the_html_forms() -> None:
    User.objects.create_superuser(email=OPERATOR, password=PASSWORD)
    strict = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    refused = strict.post("/admin/login/", {"username": OPERATOR, "password": PASSWORD})
    assert refused.status_code == 403
    assert "sessionid" not in strict.cookies


@pytest.mark.parametrize("path", ["/api/docs/", "/o/login/"])
def test_pages_under_api_or_beside_it_keep_the_html_side(path: str) -> None:
    """/api/docs/ is a page (Swagger UI), not the API: only API_PATH_PREFIXES bypass."""
    response = Client(HTTP_HOST="localhost").get(path)
    assert response.status_code == 200
    ran = _html_side_ran(response.wsgi_request)
    assert all(ran.values()), ran
    assert response["Content-Security-Policy"]


def test_static_files_are_served_outside_the_api() -> None:
    response = Client(HTTP_HOST="localhost").get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")


def _routes(patterns: list[Any], prefix: str = "/") -> list[tuple[str, Any]]:
    found = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            found.append((route, pattern.callback))
    return found


@pytest.mark.parametrize("urlconf", ["config.urls_public", "config.urls_tenants"])
def test_every_route_under_the_api_prefixes_is_a_drf_view(settings: Any, urlconf: str) -> None:
    """What the bypass relies on: under API_PATH_PREFIXES only DRF views, which are
    CSRF-exempt, authenticate the caller themselves (request.user) and keep no session."""
    api_routes = [
        (route, view)
        for route, view in _routes(get_resolver(urlconf).url_patterns)
        if route.startswith(tuple(settings.API_PATH_PREFIXES))
    ]
    assert api_routes
    not_drf = [
        route
        for route, view in api_routes
        if not issubclass(getattr(view, "cls", type(None)), APIView)
        or not getattr(view, "csrf_exempt", False)
    ]
    assert not not_drf


def test_the_bypass_needs_its_end_last(settings: Any) -> None:
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    # Without the end built first (it is the last entry, so Django builds it first), the
    # bypass would not know where the view is.
    with pytest.raises(ImproperlyConfigured):
        ApiBypassMiddleware(view)
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "saas.audit.context.AuditContextMiddleware"]
    with pytest.raises(ImproperlyConfigured):
        ApiBypassEndMiddleware(view)
