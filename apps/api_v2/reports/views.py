"""Reports (flags) API v2, an extension of the seed (docs/api/reports.md):
``POST /api/v2/messages/{messageId}/flags`` and ``POST /api/v2/users/{userId}/flags``
open a report from an end user; ``DELETE /api/v2/users/{userId}/flags`` resolves them.
Parse -> selector/service -> render.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api_v2.base import AdminAPIView
from apps.api_v2.reports.serializers import (
    ReportCreateInput,
    ReportEnvelope,
    render_report,
)
from apps.api_v2.users.views import UserFlagsView as MemberUserFlagsView
from apps.core.errors import DomainError
from apps.core.schema import ErrorOutput
from apps.members.selectors import member_get
from apps.messages.selectors.messages import message_get
from apps.reports.services import report_create

TAGS = ["reports"]


_ERRORS = {
    400: OpenApiResponse(
        description="Missing or invalid reporterId/reason, or a user reporting themself "
        "(invalid_parameter, field reporterId).",
    ),
    401: OpenApiResponse(ErrorOutput, description="No or bad access token."),
    409: OpenApiResponse(
        description="already_reported: the reporter has an open report on this target.",
    ),
}


# --- views ---------------------------------------------------------------------------
class MessageFlagsView(AdminAPIView):
    @extend_schema(
        operation_id="v2_messages_flags_create",
        summary="Report (flag) a message on behalf of an end user (extension)",
        description="Opens a report on the message and its author. One open report per "
        "reporter and message. At the organization's auto-hide threshold of open reports "
        "the message is hidden (isHidden).",
        parameters=[
            OpenApiParameter("messageId", str, OpenApiParameter.PATH, description="messageId")
        ],
        request=ReportCreateInput,
        responses={
            201: ReportEnvelope,
            **_ERRORS,
            404: OpenApiResponse(
                description="message_not_found (unknown, deleted, closed channel, another "
                "organization's) or user_not_found (field reporterId).",
            ),
        },
        tags=TAGS,
    )
    def post(self, request: Request, messageId: str) -> Response:
        data = self.validate(ReportCreateInput)
        message = message_get(
            organization=self.organization, message_id=messageId, include_deleted=False
        )
        reporter = member_get(
            organization=self.organization, user_id=data["reporterId"], field="reporterId"
        )
        if message.author is None:
            raise DomainError(
                "invalid_parameter", "messageId: this message has no author.", field="messageId"
            )
        report = report_create(
            organization=self.organization,
            actor=self.actor,
            reporter=reporter,
            target_member=message.author,
            target_message=message,
            reason=data["reason"],
        )
        return Response(render_report(report), status=status.HTTP_201_CREATED)


class UserFlagsView(MemberUserFlagsView):
    """POST: report a user (this module); DELETE: clear their flags (apps.members)."""

    @extend_schema(
        operation_id="v2_users_flags_create",
        summary="Report (flag) a user on behalf of an end user (extension)",
        description="Opens a report on the user. One open report per reporter and user.",
        parameters=[OpenApiParameter("userId", str, OpenApiParameter.PATH, description="userId")],
        request=ReportCreateInput,
        responses={
            201: ReportEnvelope,
            **_ERRORS,
            404: OpenApiResponse(
                description="user_not_found: the userId (field userId) or the reporterId "
                "(field reporterId) is unknown or another organization's.",
            ),
        },
        tags=TAGS,
    )
    def post(self, request: Request, userId: str) -> Response:
        data = self.validate(ReportCreateInput)
        target = member_get(organization=self.organization, user_id=userId)
        reporter = member_get(
            organization=self.organization, user_id=data["reporterId"], field="reporterId"
        )
        report = report_create(
            organization=self.organization,
            actor=self.actor,
            reporter=reporter,
            target_member=target,
            reason=data["reason"],
        )
        return Response(render_report(report), status=status.HTTP_201_CREATED)
