"""Messaging API: messages and attachments of a channel (docs/api/messaging-messages.md).

Parse -> selector/service -> render. The channel is the one the member sees
(:func:`apps.channels.selectors.conversations.conversation_get`, else 404); every route
checks its operation with :func:`apps.permissions.services.check` (403); posting,
editing, replying, attaching, reacting and pinning go through the same services as
every surface, so mutes, bans, closed and archived channels and the content filter
refuse with the same codes as the Admin API v2.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import FormParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.channels.models import Channel
from apps.core.errors import DomainError
from apps.core.parsers import MultiPartParser
from apps.core.parsing import request_data
from apps.messages.models import Message
from apps.messages.selectors.conversation import conversation_message_get
from apps.messages.services.bookmarks import message_bookmark, message_unbookmark
from apps.messages.services.messages import (
    message_create,
    message_create_file,
    message_create_image,
    message_delete,
    message_text_update,
)
from apps.messages.services.pins import message_pin, message_unpin
from apps.messages.services.reactions import reaction_create, reaction_delete
from apps.messages.services.reads import ReadState, channel_mark_read, thread_mark_read
from apps.messaging.base import (
    ErrorEnvelope,
    MessagingAPIView,
    SuccessEnvelope,
    id_str,
    path_id,
)
from apps.messaging.messages.access import check_delete, check_edit
from apps.messaging.messages.serializers import (
    MessagingAttachInput,
    MessagingMarkAsReadInput,
    MessagingMessageEnvelope,
    MessagingMessageInput,
    MessagingReactionInput,
    MessagingReadStateEnvelope,
)
from apps.messaging.messages.shapes import render_message
from apps.permissions.services import check

TAGS = ["messaging"]
_ERRORS: dict[int, Any] = {
    400: ErrorEnvelope,
    401: ErrorEnvelope,
    403: ErrorEnvelope,
    404: ErrorEnvelope,
}
REACTION = OpenApiParameter("reaction", str, OpenApiParameter.PATH, description="Reaction")

#: The services' field names (Admin API v2's) -> this API's parameter names.
FIELDS = {
    "data.text": "message",
    "text": "message",
    "caption": "message",
    "file": "upload",
    "parentId": "messageID",
    "channelId": "channelID",
    "messageId": "messageID",
}

#: What starts an image Pillow renders (JPEG, PNG, GIF, WebP): such an upload becomes an
#: image message; anything else (BMP included, too easily confused) a file message.
_IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")


@contextmanager
def messaging_fields(**renamed: str) -> Iterator[None]:
    """Name a service's refusal by this API's parameter (``data.text`` -> ``message``)."""
    try:
        yield
    except DomainError as exc:
        names = {**FIELDS, **renamed}
        if exc.field in names:
            exc.field = names[exc.field]
        raise


def is_image(upload: Any) -> bool:
    """Whether the upload's first bytes are those of a JPEG, PNG, GIF or WebP image."""
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not isinstance(head, bytes):
        return False
    return head.startswith(_IMAGE_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def read_state(channel: Channel, thread: Message | None, state: ReadState) -> dict[str, Any]:
    return {
        "channelID": id_str(channel.pk),
        "threadID": id_str(thread.pk) if thread is not None else None,
        "count": state.count,
        "lastMessageID": id_str(state.last_read_message_pk),
    }


class _ChannelMessagesView(MessagingAPIView):
    """A route under /channels/{channelID}/: the channel as the member sees it."""

    def message(self, channel: Channel, message_id: int, *, field: str = "messageID") -> Message:
        pk = path_id(message_id, code="message_not_found", field=field)
        return conversation_message_get(
            member=self.member, channel=channel, message_pk=pk, field=field
        )

    def reply_parent(self, channel: Channel, message_pk: int, *, field: str) -> Message:
        """The thread a reply goes into: a top-level message (a reply to a reply is
        400 ``invalid_parent``, as in the Admin API v2)."""
        parent = self.message(channel, message_pk, field=field)
        if parent.parent_id is not None:
            raise DomainError("invalid_parent", field=field)
        return parent

    def rendered(self, message: Message, *, status: int = 200) -> Response:
        return self.respond(render_message(message, member=self.member), status=status)

    def created(self, message: Message, channel: Channel) -> Response:
        """201 with a message just created in ``channel`` (as the selector loaded it, so
        the member's ownership is known): nothing to read but its stored files."""
        message.channel = channel
        return self.respond(render_message(message, member=self.member, fresh=True), status=201)


class MessagesView(_ChannelMessagesView):
    """POST /channels/{channelID}/messages/."""

    @extend_schema(
        operation_id="messaging_messages_create",
        summary="Post new message to the channel",
        request=MessagingMessageInput,
        responses={201: MessagingMessageEnvelope, 413: ErrorEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request, channelID: int) -> Response:
        channel = self.channel(channelID)
        check(self.member, "message.send", channel)
        data = self.validate(MessagingMessageInput)
        with messaging_fields():
            message = message_create(
                organization=self.organization,
                actor=self.actor,
                channel=channel,
                type=Message.Type.TEXT,
                data={"text": data["message"]},
                author=self.member,
            )
        return self.created(message, channel)


class MessageView(_ChannelMessagesView):
    """PUT and DELETE /channels/{channelID}/messages/{messageID}."""

    @extend_schema(
        operation_id="messaging_messages_update",
        summary="Edit existing message",
        request=MessagingMessageInput,
        responses={200: MessagingMessageEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def put(self, request: Request, channelID: int, messageID: int) -> Response:
        channel = self.channel(channelID)
        message = self.message(channel, messageID)
        check_edit(self.member, channel, message)
        data = self.validate(MessagingMessageInput)
        with messaging_fields():
            message = message_text_update(
                organization=self.organization,
                actor=self.actor,
                message=message,
                text=data["message"],
            )
        return self.rendered(message)

    @extend_schema(
        operation_id="messaging_messages_delete",
        summary="Delete existing message",
        responses={200: SuccessEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def delete(self, request: Request, channelID: int, messageID: int) -> Response:
        channel = self.channel(channelID)
        message = self.message(channel, messageID)
        check_delete(self.member, channel, message)
        with messaging_fields():
            message_delete(organization=self.organization, actor=self.actor, message=message)
        return self.acknowledge()


class RepliesView(_ChannelMessagesView):
    """POST /channels/{channelID}/messages/{messageID}/replies."""

    @extend_schema(
        operation_id="messaging_messages_reply",
        summary="Reply to a message",
        request=MessagingMessageInput,
        responses={201: MessagingMessageEnvelope, 413: ErrorEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request, channelID: int, messageID: int) -> Response:
        channel = self.channel(channelID)
        parent = self.reply_parent(channel, messageID, field="messageID")
        check(self.member, "message.reply", channel)
        data = self.validate(MessagingMessageInput)
        with messaging_fields():
            message = message_create(
                organization=self.organization,
                actor=self.actor,
                channel=channel,
                type=Message.Type.TEXT,
                data={"text": data["message"]},
                parent_id=str(parent.public_id),
                author=self.member,
            )
        return self.created(message, channel)


class PinView(_ChannelMessagesView):
    """POST and DELETE /channels/{channelID}/messages/{messageID}/pin (public)."""

    def _pin(self, channelID: int, messageID: int, *, pinned: bool) -> Response:
        channel = self.channel(channelID)
        message = self.message(channel, messageID)
        check(self.member, "message.pin", channel)
        service = message_pin if pinned else message_unpin
        with messaging_fields():
            message = service(
                organization=self.organization,
                actor=self.actor,
                member=self.member,
                message=message,
            )
        return self.rendered(message)

    @extend_schema(
        operation_id="messaging_messages_pin",
        summary="Pin message to channel (public bookmark)",
        request=None,
        responses={200: MessagingMessageEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request, channelID: int, messageID: int) -> Response:
        return self._pin(channelID, messageID, pinned=True)

    @extend_schema(
        operation_id="messaging_messages_unpin",
        summary="Unpin message from channel (public bookmark)",
        responses={200: MessagingMessageEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def delete(self, request: Request, channelID: int, messageID: int) -> Response:
        return self._pin(channelID, messageID, pinned=False)


class BookmarkView(_ChannelMessagesView):
    """POST and DELETE /channels/{channelID}/messages/{messageID}/bookmark (private)."""

    @extend_schema(
        operation_id="messaging_messages_bookmark",
        summary="Bookmark a message (private bookmark)",
        request=None,
        responses={200: MessagingMessageEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request, channelID: int, messageID: int) -> Response:
        channel = self.channel(channelID)
        message = self.message(channel, messageID)
        message_bookmark(member=self.member, message=message)
        return self.rendered(message)

    @extend_schema(
        operation_id="messaging_messages_unbookmark",
        summary="Remove boomark from message (private bookmark)",
        responses={200: MessagingMessageEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def delete(self, request: Request, channelID: int, messageID: int) -> Response:
        channel = self.channel(channelID)
        message = self.message(channel, messageID)
        message_unbookmark(member=self.member, message=message)
        return self.rendered(message)


class ReactionView(_ChannelMessagesView):
    """POST and DELETE /channels/{channelID}/messages/{messageID}/reaction/{reaction}."""

    def _target(self, channelID: int, messageID: int, reaction: str) -> tuple[Message, str]:
        channel = self.channel(channelID)
        message = self.message(channel, messageID)
        name = self.validate(MessagingReactionInput, data={"reaction": reaction})["reaction"]
        return message, name

    @extend_schema(
        operation_id="messaging_messages_react",
        summary="React to a message",
        parameters=[REACTION],
        request=None,
        responses={200: MessagingMessageEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request, channelID: int, messageID: int, reaction: str) -> Response:
        message, name = self._target(channelID, messageID, reaction)
        check(self.member, "message.react", message.channel)
        with messaging_fields():
            reaction_create(
                organization=self.organization,
                actor=self.actor,
                message=message,
                reaction_name=name,
                member=self.member,
            )
        return self.rendered(message)

    @extend_schema(
        operation_id="messaging_messages_unreact",
        summary="Delete reaction from a message",
        parameters=[REACTION],
        responses={200: MessagingMessageEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def delete(self, request: Request, channelID: int, messageID: int, reaction: str) -> Response:
        message, name = self._target(channelID, messageID, reaction)
        with messaging_fields():
            reaction_delete(
                organization=self.organization,
                actor=self.actor,
                message=message,
                reaction_name=name,
                member=self.member,
            )
        return self.rendered(message)


class MarkAsReadView(_ChannelMessagesView):
    """GET (as the document says; POST and PUT alike) /channels/{channelID}/messages/
    mark-as-read: the channel, or the thread ``threadID``, read up to
    ``lastReadMessageID`` (absent: the newest message); answers the new unread count."""

    def _mark(self, request: Request, channelID: int) -> Response:
        channel = self.channel(channelID)
        data = self.validate(
            MessagingMarkAsReadInput, data=request_data(request, include_query=True)
        )
        thread_pk, last_pk = data.get("threadID"), data.get("lastReadMessageID")
        thread = None
        if thread_pk is not None:
            thread = self.message(channel, thread_pk, field="threadID")
            if thread.parent_id is not None:
                raise DomainError(
                    "invalid_parameter",
                    "threadID: a thread is named by its first message, not a reply.",
                    field="threadID",
                )
        if last_pk is not None:
            marker = conversation_message_get(
                member=self.member,
                channel=channel,
                message_pk=last_pk,
                field="lastReadMessageID",
                include_deleted=True,
            )
            if thread is not None and marker.parent_id != thread.pk:
                raise DomainError(
                    "message_not_found",
                    f"No reply {last_pk} in thread {thread.pk}.",
                    field="lastReadMessageID",
                )
        if thread is not None:
            state = thread_mark_read(
                member=self.member, thread=thread, last_read_message_pk=last_pk
            )
        else:
            state = channel_mark_read(
                member=self.member, channel=channel, last_read_message_pk=last_pk
            )
        return self.respond(read_state(channel, thread, state))

    @extend_schema(
        operation_id="messaging_messages_mark_as_read",
        summary="Manages read/unread messages in a channel or a thread",
        parameters=[MessagingMarkAsReadInput],
        responses={200: MessagingReadStateEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request, channelID: int) -> Response:
        return self._mark(request, channelID)

    @extend_schema(
        operation_id="messaging_messages_mark_as_read_post",
        summary="Manages read/unread messages (parameters in the body)",
        request=MessagingMarkAsReadInput,
        responses={200: MessagingReadStateEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request, channelID: int) -> Response:
        return self._mark(request, channelID)

    @extend_schema(
        operation_id="messaging_messages_mark_as_read_put",
        summary="Manages read/unread messages (parameters in the body)",
        request=MessagingMarkAsReadInput,
        responses={200: MessagingReadStateEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def put(self, request: Request, channelID: int) -> Response:
        return self._mark(request, channelID)


class AttachView(_ChannelMessagesView):
    """POST /channels/{channelID}/attach (multipart ``upload``, optional ``replyTo``)."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="messaging_channels_attach",
        summary="Attach file to channel",
        description="An image (JPEG, PNG, GIF, WebP) becomes an image message, anything "
        "else a file message, with the same size and type checks as the Admin API v2's "
        "/messages/images and /messages/files.",
        request={"multipart/form-data": MessagingAttachInput},
        responses={
            201: MessagingMessageEnvelope,
            413: ErrorEnvelope,
            415: ErrorEnvelope,
            **_ERRORS,
        },
        tags=TAGS,
    )
    def post(self, request: Request, channelID: int) -> Response:
        channel = self.channel(channelID)
        check(self.member, "message.attach", channel)
        data = self.validate(MessagingAttachInput)
        parent_id = None
        if data.get("replyTo") is not None:
            parent = self.reply_parent(channel, data["replyTo"], field="replyTo")
            check(self.member, "message.reply", channel)
            parent_id = str(parent.public_id)
        upload = data["upload"]
        create = message_create_image if is_image(upload) else message_create_file
        with messaging_fields(parentId="replyTo"):
            message = create(
                organization=self.organization,
                actor=self.actor,
                channel=channel,
                upload=upload,
                parent_id=parent_id,
                author=self.member,
            )
        return self.created(message, channel)
