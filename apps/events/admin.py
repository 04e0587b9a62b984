from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core.admin import LargeTableAdmin, service_action
from apps.events.models import Event
from apps.events.services import events_retry_now


class PendingFilter(admin.SimpleListFilter):
    title = "delivery"
    parameter_name = "delivery"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("pending", "pending"), ("failing", "failing"), ("dispatched", "dispatched")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "pending":
            return queryset.filter(dispatched_at__isnull=True)
        if self.value() == "failing":
            return queryset.filter(dispatched_at__isnull=True, attempts__gt=0)
        if self.value() == "dispatched":
            return queryset.filter(dispatched_at__isnull=False)
        return queryset


@admin.register(Event)
class EventAdmin(LargeTableAdmin):
    """The outbox, read-only: what was published, and what is stuck (with its error)."""

    list_display = [
        "id",
        "created_at",
        "organization",
        "type",
        "dispatched_at",
        "attempts",
        "next_attempt_at",
    ]
    list_filter = [PendingFilter, "type"]
    list_select_related = ["organization"]
    search_exact = ["event_id", "type"]
    readonly_fields = [
        "event_id",
        "organization",
        "type",
        "payload",
        "created_at",
        "dispatched_at",
        "attempts",
        "last_error",
        "next_attempt_at",
    ]
    show_full_result_count = False
    actions = ["retry_now"]

    @service_action(description="Retry the selected failing events now")
    def retry_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = events_retry_now(event_pks=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} event(s) will be retried now.", messages.SUCCESS)
