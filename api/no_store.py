"""Answers that carry a credential (access and refresh tokens, a client secret, a bearer link
to the billing portal) must not be kept by any cache between the server and the client, nor
by the client's own: RFC 6749 section 5.1 asks this of token responses, as /o/token/ does
(oauthlib sends these same two headers)."""

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class NoStoreMixin(APIView):
    """Put first among a view's bases. Every answer of the view, errors included, carries
    `Cache-Control: no-store` and, for HTTP/1.0 caches, `Pragma: no-cache`."""

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response
