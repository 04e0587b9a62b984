"""Django admin for reports (flags): read-only; resolving one is an action that calls
the audited ``report_resolve`` (the review queue's service)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.audit.actor import Actor
from apps.core.admin import ADMIN_REASON, LargeTableAdmin, service_action
from apps.reports.models import Report, report_open_q
from apps.reports.services import report_resolve


@admin.register(Report)
class ReportAdmin(LargeTableAdmin):
    list_display = ["target_member", "target_message", "reporter", "state", "created_at"]
    list_select_related = ["target_member", "target_message", "reporter"]
    list_filter = ["state"]
    raw_id_fields = ["organization", "reporter", "target_member", "target_message"]
    show_full_result_count = False
    actions = ["dismiss_reports", "mark_actioned"]

    def _resolve(self, request: HttpRequest, queryset: QuerySet[Report], state: str) -> None:
        actor = Actor(account=request.user)  # type: ignore[arg-type]
        self.call_service_for_each(
            request,
            queryset.filter(report_open_q()).select_related("target_member"),
            lambda report: report_resolve(
                actor=actor, report=report, state=state, reason=ADMIN_REASON
            ),
            done=f"{{count}} report(s) {state} (audited).",
        )

    @service_action(description="Dismiss the selected open reports (audited)")
    def dismiss_reports(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        self._resolve(request, queryset, Report.State.DISMISSED)

    @service_action(description="Resolve the selected open reports as actioned (audited)")
    def mark_actioned(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        self._resolve(request, queryset, Report.State.ACTIONED)
