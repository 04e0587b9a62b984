"""Input of ``POST /activity/`` (docs/api/messaging-status-activity-attachments.md)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.core.fields import StringField
from apps.messaging.base import IdField
from apps.presence.services import MAX_KIND_LENGTH


class ActivityInput(serializers.Serializer):
    channelID = IdField(required=False, help_text="Only for this channel's subscribers.")
    messageID = IdField(required=False, help_text="A message of channelID (needs channelID).")
    kind = StringField(max_length=MAX_KIND_LENGTH, help_text="Arbitrary (typing, reading...).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "messageID" in attrs and "channelID" not in attrs:
            raise serializers.ValidationError(
                {"channelID": ["channelID is required with messageID."]}, code="required"
            )
        return attrs
