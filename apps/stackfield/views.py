"""Stackfield's webhook URL ``POST /apiwh/{webhookId}`` (../shared/seeds/
stackfield-webhooks.txt): an outside tool posts into a channel, or changes the
organization's rooms and users, through a URL whose uuid is the whole credential.

Parse and render only: the URL's integration (404 for an unknown uuid), its admission
(disabled, one call per interval), then the body as the URL's kind reads it, and
apps.integrations.services.stackfield does the rest. The JSON kinds read the body as
JSON whatever its Content-Type says (Stackfield's examples send ``application/json``;
``curl -d`` without ``-H`` sends a form type), a file URL reads ``multipart/form-data``.
Answers ``{"Result": "ok"}`` (plus ``RoomId`` for ``CreateRoom``), errors in Stackfield's
dialect (apps.stackfield.dialect).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import UploadedFile
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ParseError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import DomainError
from apps.core.parsers import MultiPartParser, loads
from apps.integrations.models import Integration
from apps.integrations.selectors import integration_by_secret
from apps.integrations.services.incoming import incoming_admit
from apps.integrations.services.stackfield import stackfield_call
from apps.stackfield.dialect import exception_handler
from apps.stackfield.serializers import (
    StackfieldFileInput,
    StackfieldPayloadInput,
    StackfieldSuccessOutput,
)

#: The multipart field of a file URL.
FILE_FIELD = "File"


def _raw_body(request: Request) -> bytes:
    try:
        return request.body
    except RequestDataTooBig:
        raise DomainError("payload_too_large") from None


def json_object(body: bytes) -> dict[str, Any]:
    """The body as one JSON object (UTF-8, a BOM allowed), read as strictly as every
    JSON body here (apps.core.parsers.loads); else 400 ``malformed_body``."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError("malformed_body", "The body is not valid UTF-8.") from None
    if not text.strip():
        raise DomainError("malformed_body", "The body is empty: send a JSON object.")
    try:
        value = loads(text)
    except (RecursionError, ParseError):
        raise DomainError("malformed_body", "The JSON is nested too deeply.") from None
    except ValueError as exc:
        raise DomainError("malformed_body", f"The JSON could not be parsed: {exc}") from None
    if not isinstance(value, dict):
        raise DomainError("malformed_body", "The body must be a JSON object.")
    return value


def uploaded_file(request: Request) -> UploadedFile:
    """The multipart field ``File``: 415 ``unsupported_media_type`` on ``File`` when the
    body is not multipart or ``File`` is a text field, 400 ``invalid_file`` without it."""
    media = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if media != "multipart/form-data":
        raise DomainError(
            "unsupported_media_type",
            "Send the file as multipart/form-data, in the field File.",
            field=FILE_FIELD,
        )
    files = request.FILES.getlist(FILE_FIELD)
    if len(files) > 1:
        raise DomainError("invalid_parameter", "One File per call.", field=FILE_FIELD)
    if not files:
        if FILE_FIELD in request.data:
            raise DomainError(
                "unsupported_media_type", "File must be a file, not a text field.", field=FILE_FIELD
            )
        raise DomainError("invalid_file", "No files found: send the field File.", field=FILE_FIELD)
    return files[0]


class WebhookView(APIView):
    """``POST /apiwh/{webhookId}``: no login; the URL's uuid is the credential."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [MultiPartParser]  # the file kind's; the JSON kinds read the body

    def get_exception_handler(self) -> Any:
        return exception_handler

    @extend_schema(
        operation_id="stackfield_webhook",
        summary="Call a Stackfield webhook URL",
        description="What a call does is the URL's kind: chat message (`Title`), discussion "
        "(`Title`, `Content`), task (`Title`, `Content`, `DateStart`, `DateEnd`, `Users`), "
        "page (`Title`, `Content`), event (`Title`, `Content`, `DateStart`, `DateEnd`, "
        "`Users`), file (multipart `File`), room settings (`Command`: ArchiveRoom, "
        "GrantRoomAccess, RevokeRoomAccess, with `RoomId` when the URL has no channel) and "
        "organization (those and CreateUser, RemoveUser, DeactivateUser, CreateRoom). "
        'Answers `{"Result": "ok"}` (and `RoomId` for CreateRoom); a refusal is a 4xx with '
        '`{"Result": "<Stackfield code>", "ErrorText"}` and writes nothing. One call per '
        "second per URL (429, code 4040, Retry-After); the same body again within a minute "
        "is code 4057. docs/api/integrations-stackfield.md.",
        parameters=[
            OpenApiParameter(
                "webhookId",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="The URL's uuid (its whole secret).",
            )
        ],
        request={
            "application/json": StackfieldPayloadInput,
            "multipart/form-data": StackfieldFileInput,
        },
        responses={
            200: StackfieldSuccessOutput,
            400: OpenApiResponse(description="4031, 4041, 4050-4056, 4060, 4070, 4071."),
            403: OpenApiResponse(
                description="4036 room closed or archived, 4038 URL disabled, 4076 a "
                "deactivated user in Users, 4031 the bot may not post (muted, banned)."
            ),
            404: OpenApiResponse(
                description="4035 unknown URL or RoomId, 4036 room deleted, 4061, 4075."
            ),
            409: OpenApiResponse(description="4057 double request, 4076, 4077, 4079, 4080."),
            413: OpenApiResponse(description="4042 the file or the body is too big."),
            415: OpenApiResponse(description="4045 File is not a file part."),
            429: OpenApiResponse(description="4040 call limit; see Retry-After."),
        },
        auth=[],
        tags=["stackfield"],
    )
    def post(self, request: Request, webhookId: str) -> Response:
        integration = integration_by_secret(secret=webhookId, flavor=Integration.Flavor.STACKFIELD)
        incoming_admit(integration)
        if integration.kind == Integration.Kind.FILE:
            outcome = stackfield_call(integration=integration, upload=uploaded_file(request))
        else:
            body = _raw_body(request)
            outcome = stackfield_call(integration=integration, payload=json_object(body), body=body)
        answer = {"Result": "ok"}
        if outcome.room_id is not None:
            answer["RoomId"] = outcome.room_id
        return Response(answer)
