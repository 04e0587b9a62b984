"""Messaging API: ``/status/`` (set, clear, list). Parse -> apps.presence -> render."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.messaging.base import ErrorEnvelope, MessagingAPIView, SuccessEnvelope
from apps.messaging.status.serializers import (
    StatusEnvelope,
    StatusListEnvelope,
    StatusSetInput,
    render_status,
)
from apps.presence import selectors, services

TAGS = ["messaging"]
_ERRORS = {401: ErrorEnvelope, 403: ErrorEnvelope}


class StatusView(MessagingAPIView):
    """GET, POST, DELETE /status/."""

    @extend_schema(
        operation_id="messaging_status_list",
        summary="See all current statuses",
        description="The current statuses of the organization's members (ended ones never "
        "show, whether or not the sweep has run yet), by user id.",
        responses={200: StatusListEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        statuses = selectors.statuses_current(organization=self.organization)
        return self.respond([render_status(s) for s in statuses])

    @extend_schema(
        operation_id="messaging_status_set",
        summary="Set user's status",
        description="Replaces the caller's status. An icon or a message is required; "
        "`expires` is read in the member's time zone (UTC if none).",
        request=StatusSetInput,
        responses={200: StatusEnvelope, 400: ErrorEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        data = self.validate(StatusSetInput)
        status = services.status_set(
            member=self.member,
            icon=data.get("icon", ""),
            message=data.get("message", ""),
            expires=data.get("expires", ""),
        )
        return self.respond(render_status(status))

    @extend_schema(
        operation_id="messaging_status_clear",
        summary="Clear status",
        request=None,
        responses={200: SuccessEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def delete(self, request: Request) -> Response:
        services.status_clear(member=self.member)
        return self.acknowledge()
