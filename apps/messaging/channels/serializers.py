"""Input and output shapes of the messaging API's channels (docs/api/messaging-channels.md).
Inputs validate and never save; the outputs document the dicts of
:mod:`apps.messaging.channels.shapes` in the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.channels.models import Channel, Membership
from apps.channels.selectors.conversations import MAX_QUERY_LENGTH
from apps.channels.services.channels import MAX_USER_IDS
from apps.channels.services.conversations import MAX_NAME_LENGTH, MAX_TOPIC_LENGTH, STATES
from apps.core.fields import StringField, sent_in_json_body
from apps.messaging.base import IdField

# --- inputs ----------------------------------------------------------------------------------


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class IdListField(serializers.ListField):
    """Member ids: an array of ids, each a decimal string or a number. A form body or a
    query string may also send one id as a plain value (a one-item list). Duplicates are
    dropped, order kept."""

    default_error_messages = {"not_a_list": "Must be an array of ids, not {input_type}."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", IdField())
        kwargs.setdefault("max_length", MAX_USER_IDS)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[int]:
        if isinstance(data, str) and not sent_in_json_body(self):
            data = [data]
        if not isinstance(data, (list, tuple)):
            self.fail("not_a_list", input_type=type(data).__name__)
        return list(dict.fromkeys(super().to_internal_value(data)))


def _name(**kwargs: Any) -> StringField:
    return StringField(
        max_length=MAX_NAME_LENGTH, required=False, allow_blank=True, allow_null=True, **kwargs
    )


def _topic() -> StringField:
    return StringField(
        max_length=MAX_TOPIC_LENGTH, required=False, allow_blank=True, allow_null=True
    )


def _type() -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=Channel.Visibility.values, required=False, allow_null=True
    )


class MessagingChannelListInput(serializers.Serializer):
    query = StringField(
        max_length=MAX_QUERY_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="Only channels whose name contains this (case-insensitive).",
    )


class MessagingChannelCreateInput(serializers.Serializer):
    name = _name(help_text="Required for public and private channels; a group may have none.")
    topic = _topic()
    type = _type()
    members = IdListField(
        required=False,
        default=list,
        help_text="Numeric ids of members to add (the creator is added as the owner).",
    )


@extend_schema_field(OpenApiTypes.STR)
class OrganisationIDField(serializers.Field):
    """``organisationID``: a channel never moves to another organisation. Absent, null,
    empty, ``0`` or the caller's own organisation's id change nothing; anything else is
    refused (400, naming the field)."""

    def to_internal_value(self, data: Any) -> None:
        organization = self.context.get("organization")
        own = str(organization.pk) if organization is not None else None
        if data is None:
            return None
        if not isinstance(data, bool) and str(data).strip() in ("", "0", own):
            return None
        raise serializers.ValidationError(
            "A channel cannot move to another organisation: tenants never mix."
        )


class MessagingChannelUpdateInput(serializers.Serializer):
    name = _name()
    topic = _topic()
    type = _type()
    organisationID = OrganisationIDField(
        required=False, allow_null=True, help_text="Refused: a channel never changes tenant."
    )


class MessagingChannelStateInput(serializers.Serializer):
    state = serializers.ChoiceField(choices=list(STATES))


class MessagingChannelFlagInput(serializers.Serializer):
    flag = serializers.ChoiceField(choices=[f for f in Membership.Flag.values if f])


class MessagingChannelInviteInput(serializers.Serializer):
    userID = IdListField(allow_empty=False, help_text="Numeric ids of the members to invite.")


# --- outputs (the OpenAPI schema; shapes.py renders) -----------------------------------------


class MessagingUnreadOutput(serializers.Serializer):
    lastMessageID = serializers.CharField(
        allow_null=True, help_text="The last message the caller has read."
    )
    count = serializers.IntegerField()


class MessagingChannelOutput(serializers.Serializer):
    channelID = serializers.CharField()
    name = serializers.CharField()
    topic = serializers.CharField()
    type = serializers.ChoiceField(choices=Channel.Visibility.values)
    membershipFlag = serializers.ChoiceField(choices=Membership.Flag.values)
    members = serializers.ListField(child=serializers.CharField())
    unread = MessagingUnreadOutput()
    lastMessageID = serializers.CharField(allow_null=True)
    canJoin = serializers.BooleanField()
    canPart = serializers.BooleanField()
    canObserve = serializers.BooleanField()
    canSendMessages = serializers.BooleanField()
    canDeleteMessages = serializers.BooleanField()
    canChangeMembers = serializers.BooleanField()
    canUpdate = serializers.BooleanField()
    canArchive = serializers.BooleanField()
    canDelete = serializers.BooleanField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField(allow_null=True)
    archivedAt = serializers.DateTimeField(allow_null=True)
    deletedAt = serializers.DateTimeField(allow_null=True)


class MessagingChannelMemberOutput(serializers.Serializer):
    userID = serializers.CharField()
    type = serializers.ChoiceField(choices=["owner", "member", "invitee"])
    createdAt = serializers.DateTimeField()


class MessagingChannelEnvelope(serializers.Serializer):
    response = MessagingChannelOutput()


class MessagingChannelListEnvelope(serializers.Serializer):
    response = MessagingChannelOutput(many=True)


class MessagingChannelMemberEnvelope(serializers.Serializer):
    response = MessagingChannelMemberOutput()


class MessagingChannelMemberListEnvelope(serializers.Serializer):
    response = MessagingChannelMemberOutput(many=True)
