"""Messaging API: ``POST /activity/``: the caller's activity (typing, reading...) as an
``activity`` domain event for the subscribers; never stored as a message; throttled per
member (apps.messaging.activity.throttling)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.messaging.activity.serializers import ActivityInput
from apps.messaging.activity.throttling import ActivityMemberThrottle
from apps.messaging.base import ErrorEnvelope, MessagingAPIView, SuccessEnvelope
from apps.presence import selectors, services


class ActivityView(MessagingAPIView):
    """POST /activity/."""

    throttle_classes = [ActivityMemberThrottle]

    @extend_schema(
        operation_id="messaging_activity_send",
        summary="Sends user's activity to all subscribers",
        description="Globally, or about a channel the caller sees (404 otherwise) and a "
        "message of it. Published as an `activity` event (docs/events.md); throttled per "
        "member (429 with Retry-After).",
        request=ActivityInput,
        responses={
            200: SuccessEnvelope,
            400: ErrorEnvelope,
            401: ErrorEnvelope,
            403: ErrorEnvelope,
            404: ErrorEnvelope,
            429: ErrorEnvelope,
        },
        tags=["messaging"],
    )
    def post(self, request: Request) -> Response:
        data = self.validate(ActivityInput)
        channel = message = None
        if "channelID" in data:
            channel = self.channel(data["channelID"])
            if "messageID" in data:
                message = selectors.channel_message_get(
                    channel=channel, message_pk=data["messageID"]
                )
        services.activity_record(
            member=self.member, kind=data["kind"], channel=channel, message=message
        )
        return self.acknowledge()
