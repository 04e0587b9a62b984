"""Errors are data: one catalog of stable codes, one exception, one renderer.

Services raise :class:`DomainError` with a code from :data:`CATALOG`; the DRF exception
handler (and the JSON 404/500 handlers for ``/api/``) render every error as
``{"status": "error", "code": ..., "message": ..., "field": ...}``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)

#: code -> (HTTP status, default message). docs/api.md lists the same table.
CATALOG: dict[str, tuple[int, str]] = {
    # 400
    "missing_parameter": (400, "A required parameter is missing."),
    "invalid_parameter": (400, "A parameter has an invalid value."),
    "malformed_body": (400, "The request body could not be parsed."),
    "invalid_page_token": (400, "The page token is invalid or belongs to another query."),
    "skip_too_large": (400, "skip is larger than the allowed maximum."),
    "invalid_pattern": (400, "The pattern is not a valid regular expression."),
    "invalid_image": (400, "The uploaded file is not a supported image."),
    "invalid_file": (400, "The uploaded file is missing or empty."),
    "image_not_available": (404, "The image is not available in this size."),
    "blacklisted_content": (400, "The message contains blacklisted content."),
    "url_not_whitelisted": (400, "The message contains a URL that is not whitelisted."),
    "parent_not_found": (400, "The parent message does not exist in this channel."),
    "invalid_parent": (400, "A reply cannot be the parent of another reply."),
    "user_context_required": (
        400,
        "This request needs a user: use a Personal-Access-Token.",
    ),
    "invalid_avatar": (400, "The avatar is not a supported image."),
    # 401 / 403
    "unauthorized": (401, "Missing or invalid credentials."),
    "forbidden": (403, "You are not allowed to do this."),
    "channel_closed": (403, "The channel is closed."),
    "channel_muted": (403, "The channel is muted."),
    "user_muted": (403, "The user is muted in this channel."),
    "user_banned": (403, "The user is banned from this channel."),
    "user_globally_banned": (403, "The user is banned from the organization."),
    "not_a_member": (403, "The user is not a member of this channel."),
    "chatroom_not_custom": (403, "Only custom chatrooms can be changed or deleted."),
    # 404
    "not_found": (404, "Not found."),
    "channel_not_found": (404, "Channel not found."),
    "message_not_found": (404, "Message not found."),
    "user_not_found": (404, "User not found."),
    "rule_not_found": (404, "Record not found."),
    "reaction_not_found": (404, "Reaction not found."),
    "staff_not_found": (404, "Staff member not found."),
    "token_not_found": (404, "Access token not found."),
    "chatroom_not_found": (404, "Chatroom not found."),
    "organization_not_found": (404, "Organization not found."),
    # 405 / 409 / 411 / 413 / 415 / 429 / 500 / 503
    "method_not_allowed": (405, "This method is not allowed on this path."),
    "not_acceptable": (406, "The requested representation is not available."),
    "conflict": (409, "The request conflicts with the current state."),
    "channel_exists": (409, "A channel with this channelId already exists."),
    "default_chatroom_exists": (409, "The organization already has a default chatroom."),
    "already_reported": (409, "This reporter already has an open report on this target."),
    "rule_exists": (409, "A record with this pattern already exists."),
    "too_many_records": (409, "The organization has reached its maximum number of records."),
    "role_exists": (409, "A role with this id already exists."),
    "staff_exists": (409, "This account is already on the organization's staff."),
    "last_owner": (409, "The organization must keep at least one owner."),
    "length_required": (
        411,
        "A request body needs a Content-Length or chunked framing that the server can read.",
    ),
    "payload_too_large": (413, "The request body is too large."),
    "unsupported_media_type": (415, "This Content-Type is not supported here."),
    "throttled": (429, "Too many requests."),
    "internal_error": (500, "Something went wrong on our side."),
    # 503: the database cannot be reached (apps/core/database.py); with Retry-After
    "database_unavailable": (503, "The database is unavailable; try again in a few seconds."),
}


class DomainError(Exception):
    """A rule was broken; ``code`` is a key of :data:`CATALOG`."""

    def __init__(self, code: str, message: str | None = None, *, field: str | None = None):
        if code not in CATALOG:
            raise ValueError(f"unknown error code {code!r}")
        self.code = code
        self.status = CATALOG[code][0]
        self.message = message or CATALOG[code][1]
        self.field = field
        super().__init__(self.message)


def error_body(code: str, message: str | None = None, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status": "error", "code": code, "message": message or CATALOG[code][1]}
    if field:
        body["field"] = field
    return body


def _first_validation_error(detail: Any, prefix: str = "") -> tuple[str, str, str]:
    """Walk DRF's nested error detail to its first leaf: (field, message, drf_code)."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = (
                prefix if key == "non_field_errors" else (f"{prefix}.{key}" if prefix else str(key))
            )
            return _first_validation_error(value, name)
    if isinstance(detail, list) and detail:
        for index, item in enumerate(detail):
            if item:  # ListField errors are {index: [...]} or a list with blanks
                name = prefix if not isinstance(item, (dict, list)) else f"{prefix}[{index}]"
                return _first_validation_error(item, name)
    code = getattr(detail, "code", "invalid") or "invalid"
    return prefix, str(detail), code


def validation_error_body(detail: Any) -> dict[str, Any]:
    field, message, drf_code = _first_validation_error(detail)
    code = "missing_parameter" if drf_code == "required" else "invalid_parameter"
    if isinstance(drf_code, str) and drf_code in CATALOG:
        code = drf_code
    text = f"{field}: {message}" if field else message
    return error_body(code, text, field or None)


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


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every error becomes the one JSON shape."""
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.field), status=exc.status)
    if isinstance(exc, Http404):
        return Response(error_body("not_found"), status=404)
    if isinstance(exc, DjangoPermissionDenied):
        return Response(error_body("forbidden"), status=403)
    if isinstance(exc, (RequestDataTooBig, TooManyFieldsSent)):
        return Response(error_body("payload_too_large"), status=413)
    if isinstance(exc, drf_exceptions.ValidationError):
        return Response(validation_error_body(exc.detail), status=400)
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
        return Response(error_body(code, message), status=CATALOG[code][0], headers=headers)
    from apps.core import database  # here: it imports this module

    if database.is_database_unavailable(exc):
        database.log_unavailable(context["request"], exc)
        body = error_body(database.CODE)
        return Response(body, status=503, headers=database.unavailable_headers())
    return None  # let Django's 500 handling (below) render it


def json_404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("not_found"), status=404)


def json_500(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body("internal_error"), status=500)
