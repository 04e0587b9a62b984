"""Input and output shapes of the chatroom service (messenger-chatrooms.txt): snake_case
query parameters and camelCase bodies exactly as the document spells them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.channels.models import Channel
from apps.channels.selectors.chatrooms import MAX_ID
from apps.channels.services.chatrooms import MAX_ASSIGNED_USERS, MAX_NAME_LENGTH
from apps.core import signing
from apps.core.fields import IntegerField, StringField, sent_in_json_body
from apps.messages.services.messages import MAX_TEXT_LENGTH

MAX_LIMIT = 50
DEFAULT_LIMIT = 10

#: The kind signed into a chatroom's avatarURL (apps.core.signing).
AVATAR_SIGN_KIND = "chatroom-avatar"
#: The ``userID`` of an avatar link: the link is the chatroom's, for whoever saw its
#: avatarURL (the chatroom service's callers are tokens, not always a user).
AVATAR_LINK_USER = 0


def avatar_link_params(room_pk: int) -> dict[str, str]:
    """``sign``, ``userID``, ``expires`` of a chatroom's avatar link."""
    return signing.signed_params(AVATAR_SIGN_KIND, room_pk, AVATAR_LINK_USER)


def _id_field(**kwargs: Any) -> IntegerField:
    return IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class ChatroomOfEventQuerySerializer(serializers.Serializer):
    organization_id = _id_field(
        required=False,
        help_text="The organization (optional with an API-TOKEN: its own organization).",
    )
    event_id = _id_field(help_text="The event whose chatroom is wanted.")


class ChatroomListQuerySerializer(serializers.Serializer):
    organization_id = _id_field(
        required=False,
        help_text="All chatrooms of this organization (the ones assigned to you unless "
        "you are an admin there). Without it: all chatrooms assigned to you, across "
        "organizations (needs a Personal-Access-Token).",
    )
    all = serializers.BooleanField(
        required=False, default=False, help_text="All entries; limit and offset are ignored."
    )
    limit = IntegerField(
        required=False, default=DEFAULT_LIMIT, help_text=f"1..{MAX_LIMIT}, default 10."
    )
    offset = IntegerField(required=False, default=0, help_text=">= 0, default 0.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("all"):
            return attrs  # "returns all entries, ignoring limit and offset"
        if not 1 <= attrs["limit"] <= MAX_LIMIT:
            raise serializers.ValidationError(
                {"limit": f"Ensure this value is between 1 and {MAX_LIMIT}."}
            )
        if not 0 <= attrs["offset"] <= MAX_ID:
            raise serializers.ValidationError({"offset": "Ensure this value is 0 or more."})
        return attrs


class _AssignedUsersField(serializers.ListField):
    child = _id_field()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            max_length=MAX_ASSIGNED_USERS,
            help_text=f"Numeric ids of Members of the organization (at most {MAX_ASSIGNED_USERS}).",
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> list[int]:
        # A form body with one value (``assignedUsers=5``) carries a string, not a list:
        # it is a one-item list there, as for every list parameter (docs/api.md).
        if isinstance(data, str) and not sent_in_json_body(self):
            data = [data]
        return super().to_internal_value(data)


class ChatroomCreateInputSerializer(serializers.Serializer):
    assignedUsers = _AssignedUsersField(required=False, default=list)
    name = StringField(max_length=MAX_NAME_LENGTH)
    organizationID = _id_field(
        required=False,
        help_text="Required with a Personal-Access-Token; an API-TOKEN's own organization "
        "when omitted.",
    )


class ChatroomUpdateInputSerializer(serializers.Serializer):
    """Only the fields sent change; ``assignedUsers`` replaces the assignment."""

    assignedUsers = _AssignedUsersField(required=False)
    name = StringField(max_length=MAX_NAME_LENGTH, required=False)
    organizationID = _id_field(
        required=False, help_text="When sent, the chatroom must belong to this organization."
    )


class ChatroomMessageInputSerializer(serializers.Serializer):
    message = StringField(max_length=MAX_TEXT_LENGTH, trim_whitespace=False)

    def validate_message(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("This field may not be blank.")
        return value


class ChatroomSerializer(serializers.Serializer):
    """The document's chatroom object, exactly these fields.

    ``context["assigned"]``: ``{channel pk: [member pks]}`` (one query for a whole page,
    ``chatroom_assigned_ids``); ``context["request"]`` builds the absolute avatarURL.
    """

    assignedUsers = serializers.SerializerMethodField()
    avatarURL = serializers.SerializerMethodField()
    eventID = serializers.IntegerField(source="calendar_event_id", allow_null=True)
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField(source="display_name")
    organizationID = serializers.IntegerField(source="organization_id")
    scheduledDeletion = serializers.DateTimeField(source="scheduled_deletion_at", allow_null=True)
    type = serializers.ChoiceField(
        choices=[Channel.Type.CUSTOM, Channel.Type.DEFAULT, Channel.Type.EVENT]
    )

    @extend_schema_field({"type": "array", "items": {"type": "integer", "format": "int64"}})
    def get_assignedUsers(self, obj: Channel) -> list[int]:
        return list(self.context.get("assigned", {}).get(obj.pk, []))

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_avatarURL(self, obj: Channel) -> str | None:
        if not obj.avatar:
            return None
        return avatar_url(obj.pk, obj.updated_at, self.context.get("request"))


def avatar_url(room_pk: int, updated_at: datetime | None, request: Any) -> str:
    """The avatarURL of a chatroom that has an avatar (absolute with a request)."""
    path = reverse("messenger-chatroom-avatar", kwargs={"roomID": room_pk})
    # the version makes clients (and caches) fetch a replaced avatar again; the
    # signature lets an image view load it without a token header (avatar_link_params)
    version = int(updated_at.timestamp()) if updated_at else 0
    url = f"{path}?{urlencode({'v': version, **avatar_link_params(room_pk)})}"
    return request.build_absolute_uri(url) if request is not None else url


_DATETIME = serializers.DateTimeField()


def render_chatroom_values(row: dict[str, Any], request: Any) -> dict[str, Any]:
    """The chatroom object from a dict of ``chatroom_page_values``: the same JSON as
    :class:`ChatroomSerializer` (which stays the contract and the schema; a test compares
    the two over chatrooms with every field set), without building a model or running
    DRF's per-field machinery for each chatroom (the list's hot path)."""
    deletion = row["scheduled_deletion_at"]
    return {
        "assignedUsers": row["assigned_users"],
        "avatarURL": avatar_url(row["pk"], row["updated_at"], request) if row["avatar"] else None,
        "eventID": row["calendar_event_id"],
        "id": row["pk"],
        "name": row["display_name"],
        "organizationID": row["organization_id"],
        "scheduledDeletion": _DATETIME.to_representation(deletion) if deletion else None,
        "type": row["type"],
    }


class ChatroomListSerializer(serializers.Serializer):
    entries = ChatroomSerializer(many=True)
    total = serializers.IntegerField(help_text="All matching entries, not only this page.")


class MessengerSuccessSerializer(serializers.Serializer):
    success = serializers.BooleanField()
