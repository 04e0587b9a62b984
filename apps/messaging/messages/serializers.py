"""Input and output shapes of the messaging API's message routes
(docs/api/messaging-messages.md). Output serializers describe the shape for OpenAPI;
rendering is :mod:`apps.messaging.messages.shapes`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.fields import StringField
from apps.messages.services.messages import MAX_TEXT_LENGTH
from apps.messaging.base import IdField

#: The longest reaction name (Reaction.name).
MAX_REACTION_LENGTH = 64


# --- input ---------------------------------------------------------------------------
class OptionalIdField(IdField):
    """An optional id: absent, null, ``""`` and ``0`` (Corteza's "none") mean none."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("default", None)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int | None:
        if data in ("", "0", 0) and not isinstance(data, bool):
            return None
        return super().to_internal_value(data)


class MessagingMessageInput(serializers.Serializer):
    message = StringField(
        max_length=MAX_TEXT_LENGTH,
        trim_whitespace=False,
        help_text=f"Message contents (markdown), at most {MAX_TEXT_LENGTH} characters.",
    )


class MessagingMarkAsReadInput(serializers.Serializer):
    threadID = OptionalIdField(help_text="The thread (its first message's id).")
    lastReadMessageID = OptionalIdField(
        help_text="The last message read (of the channel, or a reply of the thread); "
        "absent: the newest one."
    )


class MessagingAttachInput(serializers.Serializer):
    upload = serializers.FileField(allow_empty_file=True, use_url=False)
    replyTo = OptionalIdField(help_text="Upload as a reply to this message.")


class MessagingReactionInput(serializers.Serializer):
    reaction = StringField(max_length=MAX_REACTION_LENGTH)

    def validate_reaction(self, value: str) -> str:
        if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in value):
            raise serializers.ValidationError("Must not contain control characters.")
        return value


# --- output --------------------------------------------------------------------------
class MessagingReaction(serializers.Serializer):
    reaction = serializers.CharField()
    userIDs = serializers.ListField(child=serializers.CharField())
    count = serializers.IntegerField()


@extend_schema_field(OpenApiTypes.OBJECT)
class MessagingAttachmentField(serializers.JSONField):
    """The attachment object (docs/api/messaging-attachments.md), or null."""


class MessagingMessage(serializers.Serializer):
    messageID = serializers.CharField()
    type = serializers.ChoiceField(choices=["text", "custom", "image", "file"])
    message = serializers.CharField()
    channelID = serializers.CharField()
    userID = serializers.CharField(allow_null=True)
    replyTo = serializers.CharField(allow_null=True)
    replies = serializers.IntegerField()
    repliesFrom = serializers.ListField(child=serializers.CharField())
    att = MessagingAttachmentField(allow_null=True)
    mentions = serializers.ListField(child=serializers.CharField())
    reactions = MessagingReaction(many=True)
    isBookmarked = serializers.BooleanField()
    isPinned = serializers.BooleanField()
    canReply = serializers.BooleanField()
    canEdit = serializers.BooleanField()
    canDelete = serializers.BooleanField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField(allow_null=True)
    deletedAt = serializers.DateTimeField(allow_null=True)


class MessagingMessageEnvelope(serializers.Serializer):
    response = MessagingMessage()


class MessagingReadState(serializers.Serializer):
    channelID = serializers.CharField()
    threadID = serializers.CharField(allow_null=True)
    count = serializers.IntegerField(help_text="Unread messages (of the thread) now.")
    lastMessageID = serializers.CharField(
        allow_null=True, help_text="The last read message (null: none)."
    )


class MessagingReadStateEnvelope(serializers.Serializer):
    response = MessagingReadState()
