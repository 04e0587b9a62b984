"""Errors of the API views as HTTP responses: DRF's exception handler and the JSON 404/500
views, in our dialect ``{"status": "error", "code", "message", "field"}``. Errors answered
before a view runs are apps.core.dialects'."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from apps.core import database
from apps.core.dialects import Renderer, error_response
from apps.core.errors import CATALOG, DomainError, error_body, validation_error_body

_DRF_CODES: dict[type, str] = {
    drf_exceptions.NotAuthenticated: "unauthorized",
    drf_exceptions.AuthenticationFailed: "unauthorized",
    drf_exceptions.PermissionDenied: "forbidden",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.ParseError: "malformed_body",
    drf_exceptions.Throttled: "throttled",
}


def make_exception_handler(render: Renderer) -> Callable[..., Response | None]:
    """A DRF exception handler that renders every error with ``render`` (code, message,
    field -> body): each surface has one, all classify errors alike (this function)."""

    def handler(exc: Exception, context: dict[str, Any]) -> Response | None:
        headers: dict[str, str] = {}
        if isinstance(exc, DomainError):
            body = render(exc.code, exc.message, exc.field)
            return Response(body, status=exc.status, headers=exc.headers)
        if isinstance(exc, Http404):
            return Response(render("not_found", CATALOG["not_found"][1], None), status=404)
        if isinstance(exc, DjangoPermissionDenied):
            return Response(render("forbidden", CATALOG["forbidden"][1], None), status=403)
        if isinstance(exc, (RequestDataTooBig, TooManyFieldsSent)):
            body = render("payload_too_large", CATALOG["payload_too_large"][1], None)
            return Response(body, status=413)
        if isinstance(exc, drf_exceptions.ValidationError):
            plain = validation_error_body(exc.detail)
            return Response(render(plain["code"], plain["message"], plain.get("field")), status=400)
        if isinstance(exc, drf_exceptions.APIException):
            code = next((c for klass, c in _DRF_CODES.items() if isinstance(exc, klass)), None)
            if code is None:
                code = "invalid_parameter" if exc.status_code == 400 else "internal_error"
            if isinstance(exc, drf_exceptions.Throttled) and exc.wait is not None:
                headers["Retry-After"] = str(int(exc.wait) + 1)
            if code == "unauthorized":
                headers["WWW-Authenticate"] = 'Bearer realm="api"'
            message = str(exc.detail) if isinstance(exc.detail, str) else CATALOG[code][1]
            if code == "malformed_body":
                message = f"The request body could not be parsed: {exc.detail}"
            return Response(render(code, message, None), status=CATALOG[code][0], headers=headers)
        if database.is_database_unavailable(exc):
            database.log_unavailable(context["request"], exc)
            body = render(database.CODE, CATALOG[database.CODE][1], None)
            return Response(body, status=503, headers=database.unavailable_headers())
        return None  # let Django's 500 handling (below) render it

    return handler


#: DRF's EXCEPTION_HANDLER: our dialect, ``{"status": "error", "code", "message", "field"}``.
exception_handler = make_exception_handler(error_body)


def json_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """An unknown path under /api/, in the dialect of the surface it falls under."""
    return error_response(request, "not_found")


def json_500(request: HttpRequest) -> HttpResponse:
    return error_response(request, "internal_error")
