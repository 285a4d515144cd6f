"""The API docs pages (config/urls_public.py), drf-spectacular's with two changes.

- ReDoc loads nothing from other origins (saas/templates/docs/redoc.html): its page, like
  Swagger UI's, has a Content-Security-Policy that allows only ours (saas.security).
- Swagger UI keeps this site's Cross-Origin-Opener-Policy, `same-origin`. drf-spectacular
  relaxes it to `unsafe-none` on that page for authorization servers on other origins, but
  ours is on the same origin (the public host's /o/), and a popup that signs in there under
  `same-origin` keeps its link to the page only if the page is `same-origin` too: without it
  the OAuth2 "Authorize" popup could never hand its code back.
"""

from typing import Any

from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView
from rest_framework.request import Request
from rest_framework.response import Response


class SwaggerView(SpectacularSwaggerView):
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        # SecurityMiddleware then sets SECURE_CROSS_ORIGIN_OPENER_POLICY, as on every page.
        del response["Cross-Origin-Opener-Policy"]
        return response


class RedocView(SpectacularRedocView):
    template_name = "docs/redoc.html"
