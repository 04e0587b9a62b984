"""Reports (flags) API v2, an extension of the seed (docs/api/reports.md):
``POST /api/v2/messages/{messageId}/flags`` and ``POST /api/v2/users/{userId}/flags``
open a report from an end user; ``DELETE /api/v2/users/{userId}/flags`` resolves them.
Parse -> selector/service -> render.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api_v2.base import AdminAPIView
from apps.api_v2.users.views import UserFlagsView as MemberUserFlagsView
from apps.audit.services import MAX_REASON_LENGTH
from apps.core.errors import DomainError
from apps.core.fields import IdField, StringField
from apps.core.schema import ErrorOutput
from apps.members.selectors import member_get
from apps.messages.selectors.messages import message_get
from apps.reports.models import Report
from apps.reports.services import report_create

TAGS = ["reports"]


# --- input ---------------------------------------------------------------------------
class ReportCreateInput(serializers.Serializer):
    reporterId = IdField(help_text="The userId of the end user who reports (must exist).")
    reason = StringField(
        required=False,
        allow_blank=True,
        max_length=MAX_REASON_LENGTH,
        default="",
        help_text=f"Why, in the reporter's words (at most {MAX_REASON_LENGTH} characters).",
    )


# --- output --------------------------------------------------------------------------
class ReportOutput(serializers.Serializer):
    reportId = serializers.SerializerMethodField()
    state = serializers.ChoiceField(choices=Report.State.choices)
    reason = serializers.CharField()
    reporterId = serializers.SerializerMethodField()
    targetUserId = serializers.CharField(source="target_member.user_id")
    targetMessageId = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    resolvedAt = serializers.DateTimeField(source="resolved_at", allow_null=True)
    resolvedBy = serializers.SerializerMethodField()

    def get_reportId(self, obj: Report) -> str:
        return str(obj.pk)

    def get_reporterId(self, obj: Report) -> str | None:
        return obj.reporter.user_id if obj.reporter_id else None

    def get_targetMessageId(self, obj: Report) -> str | None:
        return str(obj.target_message.public_id) if obj.target_message_id else None

    def get_resolvedBy(self, obj: Report) -> str | None:
        return obj.resolved_by_label or None


class ReportEnvelope(serializers.Serializer):
    report = ReportOutput()


def render_report(report: Report) -> dict[str, Any]:
    return {"report": ReportOutput(report).data}


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
