"""Django admin for messages and reactions; deleting goes through the service (audited)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.audit.actor import Actor
from apps.core.admin import LargeTableAdmin
from apps.messages.models import Message, Reaction
from apps.messages.services import messages as services


@admin.register(Message)
class MessageAdmin(LargeTableAdmin):
    list_display = ["public_id", "channel", "author", "type", "created_at", "deleted_at"]
    list_select_related = ["channel", "author"]
    # One exact id (a UUID, or the numeric primary key), answered from the unique index.
    search_exact = ["public_id", "id"]
    raw_id_fields = ["organization", "channel", "author", "parent"]
    readonly_fields = ["public_id", "children_count", "created_at", "edited_at", "deleted_at"]
    show_full_result_count = False
    actions = ["delete_messages"]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # hard deletes would skip the audit log and the counters

    @admin.action(description="Delete the selected messages (audited)")
    def delete_messages(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        actor = Actor(account=request.user)  # type: ignore[arg-type]
        rows = list(queryset.select_related("organization"))
        for message in rows:
            services.message_delete(
                organization=message.organization,
                actor=actor,
                message_id=str(message.public_id),
                reason="Django admin",
            )
        self.message_user(request, f"Deleted {len(rows)} message(s).", messages.SUCCESS)


@admin.register(Reaction)
class ReactionAdmin(LargeTableAdmin):
    list_display = ["name", "message", "member", "created_at"]
    list_select_related = ["message", "member"]
    raw_id_fields = ["organization", "message", "member"]
    show_full_result_count = False
