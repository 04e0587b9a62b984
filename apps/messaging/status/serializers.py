"""Input and output shapes of ``/status/`` (docs/api/messaging-status-activity-attachments.md)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.core.fields import StringField
from apps.messaging.base import id_str, time_str
from apps.presence.expiry import MAX_LENGTH as MAX_EXPIRES_LENGTH
from apps.presence.models import Status
from apps.presence.services import MAX_ICON_LENGTH, MAX_MESSAGE_LENGTH


class StatusSetInput(serializers.Serializer):
    icon = StringField(required=False, allow_blank=True, max_length=MAX_ICON_LENGTH)
    message = StringField(required=False, allow_blank=True, max_length=MAX_MESSAGE_LENGTH)
    expires = StringField(
        required=False,
        allow_blank=True,
        max_length=MAX_EXPIRES_LENGTH,
        help_text="when-active, afternoon, tomorrow, a duration (30m, 1h, 2d), a time "
        "(1 PM, 13:00), a date (2019-05-20) or an ISO 8601 date-time; in the member's time "
        "zone (UTC if none). Empty: until cleared.",
    )


class StatusOutput(serializers.Serializer):
    userID = serializers.CharField()
    icon = serializers.CharField()
    message = serializers.CharField()
    expires = serializers.DateTimeField(allow_null=True, help_text="null: no time limit.")
    whenActive = serializers.BooleanField(
        help_text="Ends when the member next posts a message (expires: when-active)."
    )
    createdAt = serializers.DateTimeField()


class StatusEnvelope(serializers.Serializer):
    response = StatusOutput()


class StatusListEnvelope(serializers.Serializer):
    response = StatusOutput(many=True)


def render_status(status: Status) -> dict[str, Any]:
    return {
        "userID": id_str(status.member_id),
        "icon": status.icon,
        "message": status.message,
        "expires": time_str(status.expires_at),
        "whenActive": status.until_active,
        "createdAt": time_str(status.created_at),
    }
