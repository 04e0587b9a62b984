"""Message API v2 views: parse -> selector/service -> render."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import FormParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api_v2.base import AdminAPIView
from apps.api_v2.messages.serializers import (
    FileMessageInputSerializer,
    ImageMessageInputSerializer,
    ImageSizeInputSerializer,
    MessageCreateInputSerializer,
    MessageDeleteInputSerializer,
    MessageEnvelopeSerializer,
    MessageListSerializer,
    MessageQueryInputSerializer,
    MessageSerializer,
    SuccessSerializer,
    render_message_values,
)
from apps.channels.selectors.channels import channel_get
from apps.core.errors import DomainError
from apps.core.parsers import MultiPartParser
from apps.core.parsing import request_data
from apps.messages.models import Message, MessageFile
from apps.messages.selectors.messages import (
    message_detail_values,
    message_file_get,
    message_get,
    message_query,
)
from apps.messages.selectors.messages import message_reaction_counts as reaction_counts
from apps.messages.services.messages import (
    SAFE_FILE_TYPES,
    message_create,
    message_create_file,
    message_create_image,
    message_delete,
)

TAG = ["Messages"]
ERRORS = {
    400: OpenApiResponse(description="Invalid input"),
    401: OpenApiResponse(description="No or bad access token"),
    404: OpenApiResponse(description="Unknown id (or another organization's)"),
}


class AnyAcceptNegotiation(BaseContentNegotiation):
    """Binary endpoints answer whatever the client accepts; errors are still JSON."""

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: list[Any], format_suffix: Any = None):
        return renderers[0], renderers[0].media_type


def render_message(message: Message, *, new: bool = False) -> dict[str, Any]:
    """One message; a ``new`` one (as a create service returns it) has no reactions, so
    its answer needs no query after the write committed."""
    reactions = {} if new else reaction_counts(message_ids=[message.pk])
    return MessageSerializer(message, context={"reactions": reactions}).data


QUERY_PARAMETERS = [
    OpenApiParameter("channelId", OpenApiTypes.STR, required=True),
    OpenApiParameter("parentId", OpenApiTypes.STR, description="Replies of this message"),
    OpenApiParameter("filterByParentId", OpenApiTypes.BOOL, description="Only top-level messages"),
    OpenApiParameter("tags", OpenApiTypes.STR, many=True, description="Any of these tags"),
    OpenApiParameter("excludeTags", OpenApiTypes.STR, many=True),
    OpenApiParameter("options[first]", OpenApiTypes.INT, description="The n oldest (max 100)"),
    OpenApiParameter("options[last]", OpenApiTypes.INT, description="The n newest (default 25)"),
    OpenApiParameter("options[before]", OpenApiTypes.STR, description="messageId"),
    OpenApiParameter("options[after]", OpenApiTypes.STR, description="messageId"),
    OpenApiParameter("options[token]", OpenApiTypes.STR, description="paging.next/previous"),
]


class MessageQueryView(AdminAPIView):
    """POST (or GET) /api/v2/messages."""

    def _query(self) -> Response:
        params = self.validate(MessageQueryInputSerializer)
        channel = channel_get(organization=self.organization, channel_id=params["channelId"])
        options = params.get("options") or {}
        page = message_query(
            organization=self.organization,
            channel=channel,
            parent_id=params.get("parentId") or None,
            top_level=params.get("filterByParentId", False),
            tags=params.get("tags") or [],
            exclude_tags=params.get("excludeTags") or [],
            first=options.get("first"),
            last=options.get("last"),
            before=options.get("before") or None,
            after=options.get("after") or None,
            token=options.get("token") or None,
        )
        messages = [render_message_values(row) for row in page.items]
        return Response({"messages": messages, "paging": page.paging()})

    @extend_schema(
        operation_id="messages_query",
        summary="Query for messages",
        request=MessageQueryInputSerializer,
        responses={200: MessageListSerializer, **ERRORS},
        tags=TAG,
    )
    def post(self, request: Request) -> Response:
        return self._query()

    @extend_schema(
        operation_id="messages_query_get",
        summary="Query for messages (parameters in the query string)",
        parameters=QUERY_PARAMETERS,
        responses={200: MessageListSerializer, **ERRORS},
        tags=TAG,
    )
    def get(self, request: Request) -> Response:
        return self._query()


class MessageCreateView(AdminAPIView):
    """POST /api/v2/message."""

    @extend_schema(
        operation_id="message_create",
        summary="Create a message in a channel",
        request=MessageCreateInputSerializer,
        responses={201: MessageEnvelopeSerializer, 403: OpenApiResponse(), **ERRORS},
        tags=TAG,
    )
    def post(self, request: Request) -> Response:
        params = self.validate(MessageCreateInputSerializer)
        message = message_create(
            organization=self.organization,
            actor=self.actor,
            channel=params["channelId"],  # read with the author, in the post's transaction
            type=params["type"],
            data=params["data"],
            tags=params.get("tags") or [],
            parent_id=params.get("parentId") or None,
        )
        return Response({"message": render_message(message, new=True)}, status=201)


class MessageDetailView(AdminAPIView):
    """GET and DELETE /api/v2/message/:messageId."""

    @extend_schema(
        operation_id="message_get",
        summary="Get a message",
        responses={200: MessageEnvelopeSerializer, **ERRORS},
        tags=TAG,
    )
    def get(self, request: Request, messageId: str) -> Response:
        row = message_detail_values(organization=self.organization, message_id=messageId)
        return Response({"message": render_message_values(row)})

    @extend_schema(
        operation_id="message_delete",
        summary="Delete a message (soft delete, audited; idempotent)",
        parameters=[OpenApiParameter("reason", OpenApiTypes.STR, description="Audit reason")],
        request=MessageDeleteInputSerializer,
        responses={200: SuccessSerializer, **ERRORS},
        tags=TAG,
    )
    def delete(self, request: Request, messageId: str) -> Response:
        params = self.validate(
            MessageDeleteInputSerializer, data=request_data(request, include_query=True)
        )
        message_delete(
            organization=self.organization,
            actor=self.actor,
            message=message_get(organization=self.organization, message_id=messageId),
            reason=params.get("reason", ""),
        )
        return Response({"success": True})


class ImageMessageCreateView(AdminAPIView):
    """POST /api/v2/messages/images (multipart)."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="message_image_create",
        summary="Create an image message in a channel",
        request={"multipart/form-data": ImageMessageInputSerializer},
        responses={
            201: MessageEnvelopeSerializer,
            403: OpenApiResponse(),
            413: OpenApiResponse(description="Image too large"),
            415: OpenApiResponse(description="Not multipart"),
            **ERRORS,
        },
        tags=TAG,
    )
    def post(self, request: Request) -> Response:
        params = self.validate(ImageMessageInputSerializer)
        message = message_create_image(
            organization=self.organization,
            actor=self.actor,
            channel=channel_get(organization=self.organization, channel_id=params["channelId"]),
            upload=params["file"],
            caption=params.get("caption") or "",
            tags=params.get("tags") or [],
            parent_id=params.get("parentId") or None,
            full_image=params.get("fullImage", False),
        )
        return Response({"message": render_message(message, new=True)}, status=201)


class FileMessageCreateView(AdminAPIView):
    """POST /api/v2/messages/files (multipart)."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="message_file_create",
        summary="Create a file message in a channel",
        request={"multipart/form-data": FileMessageInputSerializer},
        responses={
            201: MessageEnvelopeSerializer,
            403: OpenApiResponse(),
            413: OpenApiResponse(description="File too large"),
            415: OpenApiResponse(description="Not multipart"),
            **ERRORS,
        },
        tags=TAG,
    )
    def post(self, request: Request) -> Response:
        params = self.validate(FileMessageInputSerializer)
        message = message_create_file(
            organization=self.organization,
            actor=self.actor,
            channel=channel_get(organization=self.organization, channel_id=params["channelId"]),
            upload=params["file"],
            tags=params.get("tags") or [],
            parent_id=params.get("parentId") or None,
        )
        return Response({"message": render_message(message, new=True)}, status=201)


def _stored_file(message: Message, variant: str, missing_code: str) -> tuple[MessageFile, Any]:
    row = message_file_get(message=message, variant=variant)
    if row is None:
        raise DomainError(missing_code, field="size" if missing_code != "not_found" else None)
    try:
        handle = row.file.open("rb")
    except OSError as exc:  # purged or lost in storage
        raise DomainError(missing_code) from exc
    return row, handle


class ImageMessageFileView(AdminAPIView):
    """GET /api/v2/messages/:messageId/images?size=small|medium|large|full."""

    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="message_image_get",
        summary="Get an image from a message",
        parameters=[
            OpenApiParameter(
                "size",
                OpenApiTypes.STR,
                enum=["small", "medium", "large", "full"],
                default="medium",
            )
        ],
        responses={(200, "image/*"): OpenApiTypes.BINARY, **ERRORS},
        tags=TAG,
    )
    def get(self, request: Request, messageId: str) -> FileResponse:
        params = self.validate(ImageSizeInputSerializer)
        message = message_get(
            organization=self.organization, message_id=messageId, include_deleted=False
        )
        if message.type != Message.Type.IMAGE:
            raise DomainError("message_not_found", "This message has no image.", field="messageId")
        row, handle = _stored_file(message, params["size"], "image_not_available")
        response = FileResponse(handle, content_type=row.content_type)
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, max-age=3600"
        return response


class FileMessageFileView(AdminAPIView):
    """GET /api/v2/messages/:messageId/files (always an attachment)."""

    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="message_file_get",
        summary="Get a file from a message",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **ERRORS},
        tags=TAG,
    )
    def get(self, request: Request, messageId: str) -> FileResponse:
        message = message_get(
            organization=self.organization, message_id=messageId, include_deleted=False
        )
        if message.type != Message.Type.FILE:
            raise DomainError("message_not_found", "This message has no file.", field="messageId")
        row, handle = _stored_file(message, MessageFile.Variant.FILE, "not_found")
        content_type = (
            row.content_type if row.content_type in SAFE_FILE_TYPES else "application/octet-stream"
        )
        response = FileResponse(
            handle, as_attachment=True, filename=row.name, content_type=content_type
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response
