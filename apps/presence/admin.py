"""Django admin for statuses: read-only (a member sets and clears its own status through
the messaging API; the beat sweep removes ended ones)."""

from __future__ import annotations

from django.contrib import admin

from apps.core.admin import LargeTableAdmin
from apps.presence.models import Status


@admin.register(Status)
class StatusAdmin(LargeTableAdmin):
    list_display = ["member", "organization", "icon", "message", "expires_at", "until_active"]
    list_select_related = ["member", "organization"]
    list_filter = ["until_active"]
    raw_id_fields = ["organization", "member"]
    readonly_fields = [
        "organization",
        "member",
        "icon",
        "message",
        "expires_at",
        "until_active",
        "created_at",
        "updated_at",
    ]
    show_full_result_count = False
