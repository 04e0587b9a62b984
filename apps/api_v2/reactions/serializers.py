"""Reactions API v2: input and output shapes (docs/api/reactions.md)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from apps.core.fields import IntegerField, StringField
from apps.core.schema import PagingOutput
from apps.messages.models import Message, Reaction

MAX_REACTION_NAME = 64
DEFAULT_LIMIT = 10
MAX_LIMIT = 100


# --- input ---------------------------------------------------------------------------
class ReactionNameField(StringField):
    """1..64 characters, trimmed; whitespace-only is refused as blank."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_REACTION_NAME)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise serializers.ValidationError("Must not contain control characters.")
        return value


class ReferenceInput(serializers.Serializer):
    referenceId = StringField(max_length=64)
    referenceType = serializers.ChoiceField(choices=[Reaction.ReferenceType.MESSAGE.value])


class ReactionInput(ReferenceInput):
    reactionName = ReactionNameField()


def _validate_skip(value: int) -> int:
    cap = settings.CHATADMIN["MAX_SKIP"]
    if value > cap:
        raise serializers.ValidationError(f"skip must be at most {cap}.", code="skip_too_large")
    return value


class ReactorOptionsInput(serializers.Serializer):
    reactionName = ReactionNameField(required=False)
    skip = IntegerField(required=False, default=0, min_value=0, validators=[_validate_skip])
    limit = IntegerField(required=False, default=DEFAULT_LIMIT, min_value=1, max_value=MAX_LIMIT)
    token = StringField(required=False, allow_blank=True, max_length=512)


class ReactorQueryInput(ReferenceInput):
    options = ReactorOptionsInput(required=False)


class MostReactedInput(serializers.Serializer):
    reactionName = ReactionNameField()
    limit = IntegerField(required=False, default=0, min_value=0, max_value=MAX_LIMIT)


# --- output --------------------------------------------------------------------------
class ReactorOutput(serializers.Serializer):
    userId = serializers.CharField(source="member.user_id")
    reactionName = serializers.CharField(source="name")
    referenceId = serializers.SerializerMethodField()
    referenceType = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")

    def get_referenceId(self, reaction: Reaction) -> str:
        return str(self.context["message"].public_id)

    def get_referenceType(self, reaction: Reaction) -> str:
        return Reaction.ReferenceType.MESSAGE.value


class MessageBriefOutput(serializers.Serializer):
    """A message as API.md names its fields; expects the annotations made by
    ``apps.messages.selectors.reactions.messages_most_reacted`` (no query per row)."""

    messageId = serializers.CharField(source="message_id")
    channelId = serializers.CharField(source="channel.channel_id")
    userId = serializers.SerializerMethodField()
    type = serializers.CharField()
    data = serializers.JSONField()
    tags = serializers.ListField(child=serializers.CharField(), source="tag_names")
    parentId = serializers.SerializerMethodField()
    childrenNumber = serializers.IntegerField(source="children_count")
    reactions = serializers.DictField(child=serializers.IntegerField(), source="reaction_counts")
    reactionsCount = serializers.SerializerMethodField()
    flagCount = serializers.IntegerField(source="flag_count")
    isDeleted = serializers.BooleanField(source="is_deleted")
    createdAt = serializers.DateTimeField(source="created_at")
    editedAt = serializers.DateTimeField(source="edited_at", allow_null=True)

    def get_userId(self, message: Message) -> str | None:
        return message.author.user_id if message.author else None

    def get_parentId(self, message: Message) -> str | None:
        return str(message.parent.public_id) if message.parent else None

    def get_reactionsCount(self, message: Message) -> int:
        return sum(message.reaction_counts.values())


class ReactorListEnvelope(serializers.Serializer):
    reactors = ReactorOutput(many=True)
    paging = PagingOutput()


class ReactorEnvelope(serializers.Serializer):
    reactor = ReactorOutput()


class MostReactedEnvelope(serializers.Serializer):
    messages = MessageBriefOutput(many=True)


class SuccessOutput(serializers.Serializer):
    success = serializers.BooleanField()
