"""Django admin for messages and reactions: read-only. Deleting a message is an action
that calls the audited service (a soft delete, with its counters and event); text is
edited through the API (``message_text_update``: the content filter applies). Nothing
is ever hard-deleted from here."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.audit.actor import Actor
from apps.core.admin import ADMIN_REASON, LargeTableAdmin, service_action
from apps.messages.models import Message, Reaction
from apps.messages.services import messages as services


@admin.register(Message)
class MessageAdmin(LargeTableAdmin):
    list_display = ["public_id", "channel", "author", "type", "created_at", "deleted_at"]
    list_select_related = ["channel", "author"]
    # One exact id (a UUID, or the numeric primary key), answered from the unique index.
    search_exact = ["public_id", "id"]
    raw_id_fields = ["organization", "channel", "author", "parent"]
    show_full_result_count = False
    actions = ["delete_messages"]

    @service_action(description="Delete the selected messages (audited)")
    def delete_messages(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        actor = Actor(account=request.user)  # type: ignore[arg-type]
        self.call_service_for_each(
            request,
            queryset.filter(deleted_at__isnull=True).select_related("organization"),
            lambda message: services.message_delete(
                organization=message.organization,
                actor=actor,
                message=message,
                reason=ADMIN_REASON,
            ),
            done="Deleted {count} message(s).",
        )


@admin.register(Reaction)
class ReactionAdmin(LargeTableAdmin):
    list_display = ["name", "message", "member", "created_at"]
    list_select_related = ["message", "member"]
    raw_id_fields = ["organization", "message", "member"]
    show_full_result_count = False
