"""Reports (flags) API v2: input and output shapes (docs/api/reports.md)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.audit.services import MAX_REASON_LENGTH
from apps.core.fields import IdField, StringField
from apps.reports.models import Report


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
