"""Input validation and output rendering of the Message API (never saves)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.audit.services import MAX_REASON_LENGTH
from apps.core.fields import IdField, IntegerField, JSONObjectField, StringField, StringListField
from apps.core.schema import PagingOutput
from apps.messages.selectors.messages import MAX_PAGE_SIZE
from apps.messages.services.messages import (
    MAX_DATA_BYTES,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    MAX_TEXT_LENGTH,
)

MAX_FILTER_TAGS = 50


@extend_schema_field({"type": "object", "additionalProperties": True})
class MessageDataField(JSONObjectField):
    """``data``: a JSON object (form clients: ``data[text]=...`` or JSON-encoded)."""


MESSAGE_ID_MAX = 64


def _tags(**kwargs: Any) -> StringListField:
    return StringListField(
        max_length=kwargs.pop("max_length", MAX_TAGS),
        max_item_length=MAX_TAG_LENGTH,
        required=False,
        **kwargs,
    )


class MessageQueryOptionsSerializer(serializers.Serializer):
    first = IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)
    last = IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)
    before = StringField(required=False, max_length=MESSAGE_ID_MAX, allow_blank=True)
    after = StringField(required=False, max_length=MESSAGE_ID_MAX, allow_blank=True)
    token = StringField(required=False, max_length=512, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("first") and attrs.get("last"):
            raise serializers.ValidationError({"first": "Give either first or last, not both."})
        return attrs


class MessageQueryInputSerializer(serializers.Serializer):
    channelId = IdField()
    parentId = StringField(required=False, max_length=MESSAGE_ID_MAX, allow_blank=True)
    filterByParentId = serializers.BooleanField(required=False, default=False)
    tags = _tags(max_length=MAX_FILTER_TAGS)
    excludeTags = _tags(max_length=MAX_FILTER_TAGS)
    options = MessageQueryOptionsSerializer(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("parentId") and attrs.get("filterByParentId"):
            raise serializers.ValidationError(
                {"filterByParentId": "filterByParentId cannot be combined with parentId."}
            )
        return attrs


class MessageCreateInputSerializer(serializers.Serializer):
    channelId = IdField()
    type = serializers.ChoiceField(choices=["text", "custom"])
    data = MessageDataField(max_bytes=MAX_DATA_BYTES)
    tags = _tags()
    parentId = StringField(required=False, max_length=MESSAGE_ID_MAX, allow_blank=True)


class MessageDeleteInputSerializer(serializers.Serializer):
    reason = StringField(required=False, max_length=MAX_REASON_LENGTH, allow_blank=True)


class ImageMessageInputSerializer(serializers.Serializer):
    channelId = IdField()
    file = serializers.FileField(allow_empty_file=True, use_url=False)
    caption = StringField(required=False, allow_blank=True, max_length=MAX_TEXT_LENGTH, default="")
    tags = _tags()
    parentId = StringField(required=False, max_length=MESSAGE_ID_MAX, allow_blank=True)
    fullImage = serializers.BooleanField(required=False, default=False)


class FileMessageInputSerializer(serializers.Serializer):
    channelId = IdField()
    file = serializers.FileField(allow_empty_file=True, use_url=False)
    tags = _tags()
    parentId = StringField(required=False, max_length=MESSAGE_ID_MAX, allow_blank=True)


class ImageSizeInputSerializer(serializers.Serializer):
    size = serializers.ChoiceField(
        choices=["small", "medium", "large", "full"], required=False, default="medium"
    )


class MessageSerializer(serializers.Serializer):
    """The v2 message resource. Expects a message from ``selectors.with_details`` and
    ``context["reactions"]`` = ``{message pk: {name: count}}``."""

    messageId = serializers.CharField(source="public_id")
    channelId = serializers.CharField(source="channel.channel_id")
    userId = serializers.CharField(source="author.user_id", allow_null=True)
    type = serializers.CharField()
    data = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()
    parentId = serializers.SerializerMethodField()
    childrenNumber = serializers.IntegerField(source="children_count")
    reactions = serializers.SerializerMethodField()
    reactionsCount = serializers.SerializerMethodField()
    flagCount = serializers.IntegerField(source="flag_count", default=0)
    isDeleted = serializers.BooleanField(source="is_deleted")
    isHidden = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    editedAt = serializers.DateTimeField(source="edited_at", allow_null=True)

    def _reactions(self, obj: Any) -> dict[str, int]:
        return self.context.get("reactions", {}).get(obj.pk, {})

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_data(self, obj: Any) -> dict[str, Any]:
        return {} if obj.is_deleted else obj.data

    @extend_schema_field({"type": "array", "items": {"type": "string"}})
    def get_tags(self, obj: Any) -> list[str]:
        return [t.name for t in obj.tag_rows.all()]

    @extend_schema_field({"type": "string", "nullable": True})
    def get_parentId(self, obj: Any) -> str | None:
        value = getattr(obj, "parent_public_id", None)
        return str(value) if value else None

    @extend_schema_field({"type": "boolean"})
    def get_isHidden(self, obj: Any) -> bool:
        """Hidden by the auto-hide threshold of open reports (docs/api/reports.md); the
        admin API still shows the message."""
        return obj.hidden_at is not None

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "integer"}})
    def get_reactions(self, obj: Any) -> dict[str, int]:
        return self._reactions(obj)

    @extend_schema_field({"type": "integer"})
    def get_reactionsCount(self, obj: Any) -> int:
        return sum(self._reactions(obj).values())


_DATETIME = serializers.DateTimeField()


def _datetime(value: Any) -> str | None:
    return _DATETIME.to_representation(value) if value is not None else None


def render_message_values(row: dict[str, Any]) -> dict[str, Any]:
    """The v2 message resource from a dict of ``selectors.with_render_values``: the same
    JSON as :class:`MessageSerializer` (which stays the contract and the schema; a test
    compares the two over messages with every field set), without building a model or
    running DRF's per-field machinery for each message (the reads' hot path)."""
    reactions = row["reaction_counts"]
    deleted = row["deleted_at"] is not None
    return {
        "messageId": str(row["public_id"]),
        "channelId": row["channel_key"],
        "userId": row["user_key"],
        "type": row["type"],
        "data": {} if deleted else row["data"],
        "tags": row["tag_names"],
        "parentId": str(row["parent_public_id"]) if row["parent_public_id"] else None,
        "childrenNumber": row["children_count"],
        "reactions": reactions,
        "reactionsCount": sum(reactions.values()),
        "flagCount": row["flag_count"],
        "isDeleted": deleted,
        "isHidden": row["hidden_at"] is not None,
        "createdAt": _datetime(row["created_at"]),
        "editedAt": _datetime(row["edited_at"]),
    }


class MessageEnvelopeSerializer(serializers.Serializer):
    message = MessageSerializer()


class MessageListSerializer(serializers.Serializer):
    messages = MessageSerializer(many=True)
    paging = PagingOutput()


class SuccessSerializer(serializers.Serializer):
    success = serializers.BooleanField()
