"""Input validation and output rendering of the Channel API (never saves)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.api_v2.users.serializers import BanPeriodField
from apps.audit.services import MAX_REASON_LENGTH
from apps.channels.models import Channel
from apps.channels.services.channels import MAX_MUTE_PERIOD_MS, MAX_USER_IDS, MUTE_FOREVER
from apps.core.fields import IdField, IntegerField, JSONObjectField, StringField, StringListField
from apps.core.schema import PagingOutput

#: Limits (docs/api/channels.md); userIds per request, mute bounds and a reason's length
#: are the services' (imported above).
MAX_TAGS = 50
MAX_TAG_LENGTH = 64
MAX_FILTER_TAGS = 100
MAX_DISPLAY_NAME = 255
DEFAULT_LIMIT = 25
MAX_LIMIT = 100


def _user_ids(**kwargs: Any) -> StringListField:
    return StringListField(child=IdField(), max_length=MAX_USER_IDS, **kwargs)


def _tags(max_items: int, **kwargs: Any) -> StringListField:
    return StringListField(max_item_length=MAX_TAG_LENGTH, max_length=max_items, **kwargs)


def _reason() -> StringField:
    return StringField(max_length=MAX_REASON_LENGTH, required=False, allow_blank=True, default="")


@extend_schema_field(OpenApiTypes.OBJECT)
class MetadataField(JSONObjectField):
    """A JSON object (documented as such in the OpenAPI schema)."""


class ChannelIdField(IdField):
    """A channelId: an IdField that also refuses "/" (it could not appear in a path)."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if "/" in value:
            raise serializers.ValidationError('Must not contain "/".')
        return value


# --- inputs -------------------------------------------------------------------------------


class QueryOptionsInput(serializers.Serializer):
    skip = IntegerField(min_value=0, required=False, default=0)
    limit = IntegerField(min_value=1, max_value=MAX_LIMIT, required=False, default=DEFAULT_LIMIT)
    token = StringField(max_length=512, required=False, allow_blank=True, default="")


class ChannelQueryInput(serializers.Serializer):
    filter = serializers.ChoiceField(
        choices=["all", "member", "notMember"], required=False, default="all"
    )
    userId = IdField(required=False)
    tags = _tags(MAX_FILTER_TAGS, required=False)
    excludeTags = _tags(MAX_FILTER_TAGS, required=False)
    options = QueryOptionsInput(required=False)


class ChannelCreateInput(serializers.Serializer):
    channelId = ChannelIdField()
    # Only "standard": the other types are the chatroom service's (/api/messenger/), made
    # by it alone (a "default" made here would block the organization's default chatroom).
    type = serializers.ChoiceField(choices=[Channel.Type.STANDARD.value])
    displayName = StringField(
        max_length=MAX_DISPLAY_NAME, required=False, allow_blank=True, default=""
    )
    metadata = MetadataField(required=False, default=dict)
    tags = _tags(MAX_TAGS, required=False, default=list)
    userIds = _user_ids(required=False, default=list)


class ChannelDisplayNameInput(serializers.Serializer):
    channelId = IdField()
    displayName = StringField(max_length=MAX_DISPLAY_NAME)


class ChannelUsersInput(serializers.Serializer):
    userIds = _user_ids(allow_empty=False)


class MutePeriodField(IntegerField):
    """Milliseconds: 0 lifts the mute, -1 mutes until lifted, > 0 mutes for that long."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", MUTE_FOREVER)
        kwargs.setdefault("max_value", MAX_MUTE_PERIOD_MS)
        super().__init__(**kwargs)


class ChannelMuteInput(serializers.Serializer):
    mutePeriod = MutePeriodField()
    reason = _reason()


class ChannelUsersMuteInput(serializers.Serializer):
    userIds = _user_ids(allow_empty=False)
    mutePeriod = MutePeriodField()
    reason = _reason()


class ChannelUsersBanInput(serializers.Serializer):
    userIds = _user_ids(allow_empty=False)
    reason = _reason()
    banPeriod = BanPeriodField()


@extend_schema_field(
    {"type": "string", "format": "date-time", "nullable": True, "example": "2030-01-31T12:00:00Z"}
)
class AwareDateTimeField(serializers.Field):
    """An ISO 8601 time with a timezone (``Z`` or ``+02:00``), or null (an empty form value
    counts as null). Naive times are refused: the server cannot guess the caller's zone."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data == "":
            data = None
        return super().validate_empty_values(data)

    def to_internal_value(self, data: Any) -> datetime:
        if not isinstance(data, str) or len(data) > 64:
            raise serializers.ValidationError("Must be an ISO 8601 time such as 2030-01-31T12:00Z.")
        try:
            value = parse_datetime(data.strip())
        except ValueError:
            value = None
        if value is None:
            raise serializers.ValidationError("Must be an ISO 8601 time such as 2030-01-31T12:00Z.")
        if value.tzinfo is None:
            raise serializers.ValidationError("Must include a timezone (Z or +hh:mm).")
        return value

    def to_representation(self, value: datetime) -> str:
        return serializers.DateTimeField().to_representation(value)


class ChannelScheduledDeletionInput(serializers.Serializer):
    scheduledDeletion = AwareDateTimeField(
        help_text="When to delete the channel (ISO 8601 with a timezone; a past time means "
        "now), or null to clear."
    )


class ChannelCloseInput(serializers.Serializer):
    reason = _reason()


# --- outputs ------------------------------------------------------------------------------


class ChannelSerializer(serializers.Serializer):
    """The v2 channel resource (../shared/API.md)."""

    channelId = serializers.CharField(source="channel_id")
    type = serializers.CharField()
    displayName = serializers.CharField(source="display_name")
    metadata = serializers.JSONField()
    tags = serializers.SerializerMethodField()
    memberCount = serializers.IntegerField(source="member_count")
    messageCount = serializers.IntegerField(source="message_count")
    isMuted = serializers.SerializerMethodField()
    muteTimeout = serializers.SerializerMethodField()
    isClosed = serializers.BooleanField(source="is_closed")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    lastActivity = serializers.DateTimeField(source="last_activity_at", allow_null=True)
    scheduledDeletion = serializers.DateTimeField(
        source="scheduled_deletion_at",
        allow_null=True,
        help_text="When the channel will be deleted (null: not scheduled).",
    )

    def _now(self) -> Any:
        if "now" not in self.context:
            self.context["now"] = timezone.now()
        return self.context["now"]

    def get_tags(self, obj: Channel) -> list[str]:
        # sorted here, so a prefetched and a lazily loaded channel render alike
        return sorted(tag.name for tag in obj.tag_rows.all())

    def get_isMuted(self, obj: Channel) -> bool:
        return obj.is_muted(self._now())

    @extend_schema_field({"type": "string", "format": "date-time", "nullable": True})
    def get_muteTimeout(self, obj: Channel) -> str | None:
        if not obj.is_muted(self._now()) or obj.mute_expires_at is None:
            return None
        return serializers.DateTimeField().to_representation(obj.mute_expires_at)


class ChannelResponse(serializers.Serializer):
    channel = ChannelSerializer()


class ChannelListResponse(serializers.Serializer):
    channels = ChannelSerializer(many=True)
    paging = PagingOutput()
