"""Messaging API: attachments. ``GET /attachment/{id}/original/{name}`` and
``GET /attachment/{id}/preview.{ext}``, on a signed link (apps.core.signing).

These routes take no session: an ``<img src>`` cannot send a header, so the link's
signature (``sign``, ``userID``, ``expires``) is the credential, checked before any
lookup. Then the link's member must still be active and not banned, and the attachment
must be its organization's, in a channel it sees (the channels' one visibility rule),
of a message neither deleted nor hidden (else 404 ``attachment_not_found``). Every file answer has
``X-Content-Type-Options: nosniff`` and a sandboxing CSP; a type outside
``SAFE_FILE_TYPES`` is always a download of ``application/octet-stream``.
"""

from __future__ import annotations

import math
import time
from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.core import signing
from apps.core.errors import DomainError
from apps.messages.models import MessageFile
from apps.messages.selectors.attachments import attachment_get, link_member_get
from apps.messages.services.messages import SAFE_FILE_TYPES
from apps.messaging.attachments.links import SIGN_KIND, extension
from apps.messaging.base import ErrorEnvelope, path_id
from apps.messaging.dialect import exception_handler

TAGS = ["messaging"]
#: Extensions that name the same format.
_SAME_FORMAT = {"jpeg": "jpg", "jpe": "jpg"}
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}

SIGNED_PARAMETERS = [
    OpenApiParameter("sign", str, required=True, description="The link's signature."),
    OpenApiParameter(
        "userID", str, required=True, description="The member the link was signed for."
    ),
    OpenApiParameter(
        "expires", str, required=True, description="When the link expires (Unix time)."
    ),
    OpenApiParameter(
        "download", bool, description="true: Content-Disposition attachment (a download)."
    ),
    OpenApiParameter("attachmentID", str, OpenApiParameter.PATH, description="Attachment ID"),
]
RESPONSES = {
    (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="File"),
    400: ErrorEnvelope,
    403: ErrorEnvelope,
    404: ErrorEnvelope,
}


class AnyAcceptNegotiation(BaseContentNegotiation):
    """A file answers whatever the client accepts (an ``<img>`` sends ``image/*``);
    errors are still JSON."""

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Request, renderers: list[Any], format_suffix: Any = None
    ) -> tuple[Any, str]:
        return renderers[0], renderers[0].media_type


def _download(value: str | None) -> bool:
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise DomainError("invalid_parameter", "download must be true or false.", field="download")


def _same_format(a: str, b: str) -> bool:
    return _SAME_FORMAT.get(a, a) == _SAME_FORMAT.get(b, b)


class SignedFileView(APIView):
    """A file on a signed link, in the messaging dialect for errors."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    content_negotiation_class = AnyAcceptNegotiation

    def get_exception_handler(self) -> Any:
        return exception_handler

    def handle_exception(self, exc: Exception) -> Any:
        response = super().handle_exception(exc)
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "no-store"
        return response

    def stored_file(self, attachment_id: int) -> tuple[MessageFile, bool, Any]:
        """(the attachment, download?, the attachment object), once the link is verified."""
        query = self.request.query_params
        user_pk = signing.verify_or_403(
            SIGN_KIND, attachment_id, query.get("userID"), query.get("expires"), query.get("sign")
        )
        download = _download(query.get("download"))
        member = link_member_get(member_pk=user_pk)
        attachment = attachment_get(
            member=member,
            attachment_pk=path_id(attachment_id, code="attachment_not_found", field="attachmentID"),
        )
        return attachment.original, download, attachment

    def serve(self, stored: MessageFile, *, filename: str, download: bool) -> FileResponse:
        try:
            handle = stored.file.open("rb")
        except OSError as exc:  # purged or lost in storage
            raise DomainError("attachment_not_found") from exc
        safe = stored.content_type in SAFE_FILE_TYPES
        response = FileResponse(
            handle,
            as_attachment=download or not safe,
            filename=filename,
            content_type=stored.content_type if safe else "application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        expires = int(self.request.query_params.get("expires", "0"))
        max_age = max(0, min(3600, math.floor(expires - time.time())))
        response["Cache-Control"] = f"private, max-age={max_age}"
        return response


class AttachmentOriginalView(SignedFileView):
    """GET /attachment/{attachmentID}/original/{name}."""

    @extend_schema(
        operation_id="messaging_attachment_original",
        summary="Serves attached file",
        description="On the signed link of the attachment object (`url`); no session. "
        "`name` is informative (the file is the attachment's whatever the name).",
        parameters=[
            *SIGNED_PARAMETERS,
            OpenApiParameter("name", str, OpenApiParameter.PATH, description="File name"),
        ],
        responses=RESPONSES,
        auth=[],
        tags=TAGS,
    )
    def get(self, request: Request, attachmentID: int, name: str) -> FileResponse:
        stored, download, _attachment = self.stored_file(attachmentID)
        return self.serve(stored, filename=stored.name, download=download)


class AttachmentPreviewView(SignedFileView):
    """GET /attachment/{attachmentID}/preview.{ext}."""

    @extend_schema(
        operation_id="messaging_attachment_preview",
        summary="Serves preview of an attached file",
        description="An image's thumbnail (its `small` rendition, made once when it was "
        "posted); `ext` is the preview's (`previewUrl`). A file has no preview: 404.",
        parameters=[
            *SIGNED_PARAMETERS,
            OpenApiParameter("ext", str, OpenApiParameter.PATH, description="Preview format"),
        ],
        responses={
            (200, "image/*"): OpenApiResponse(OpenApiTypes.BINARY, description="Thumbnail"),
            **{k: v for k, v in RESPONSES.items() if isinstance(k, int)},
        },
        auth=[],
        tags=TAGS,
    )
    def get(self, request: Request, attachmentID: int, ext: str) -> FileResponse:
        original, download, attachment = self.stored_file(attachmentID)
        preview = attachment.preview
        if preview is None or not _same_format(ext.lower(), extension(preview.name)):
            raise DomainError(
                "attachment_not_found", "This attachment has no such preview.", field="ext"
            )
        stem = original.name.rpartition(".")[0] or original.name
        filename = f"{stem}-preview.{extension(preview.name)}"
        return self.serve(preview, filename=filename, download=download)
