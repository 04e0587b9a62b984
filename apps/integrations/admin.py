"""Integrations in the admin site: read-only (the secret is hashed); the action disables
the selected ones through the service (audited). Their incoming history and outgoing
deliveries, read-only (the console's delivery log redelivers)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.audit.actor import Actor
from apps.core.admin import LargeTableAdmin, service_action
from apps.integrations.models import Delivery, Integration, IntegrationHistory
from apps.integrations.services.integrations import integration_update


@admin.register(Integration)
class IntegrationAdmin(LargeTableAdmin):
    list_display = ["pk", "name", "flavor", "direction", "kind", "organization", "enabled"]
    list_filter = ["flavor", "direction", "enabled"]
    list_select_related = ["organization"]
    search_exact = ["token_prefix"]
    raw_id_fields = ["organization", "channel", "bot", "created_by"]
    show_full_result_count = False
    exclude = ["token_hash"]
    actions = ["disable"]

    @service_action(description="Disable the selected integrations (audited)")
    def disable(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        actor = Actor(account=request.user)  # type: ignore[arg-type]
        self.call_service_for_each(
            request,
            list(queryset),
            lambda integration: integration_update(
                actor=actor, integration=integration, enabled=False
            ),
            done="Disabled {count} integration(s).",
        )


@admin.register(IntegrationHistory)
class IntegrationHistoryAdmin(LargeTableAdmin):
    list_display = ["pk", "integration", "step", "error", "created_at"]
    list_select_related = ["integration"]
    raw_id_fields = ["organization", "integration"]
    show_full_result_count = False


@admin.register(Delivery)
class DeliveryAdmin(LargeTableAdmin):
    list_display = [
        "pk",
        "integration",
        "event",
        "status",
        "attempts",
        "response_status",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status"]
    list_select_related = ["integration"]
    raw_id_fields = ["organization", "integration"]
    search_exact = ["webhook_id"]
    # newest first by the primary key's index (the model's order, by the creation time,
    # has no index: it would sort the whole table)
    ordering = ["-pk"]
