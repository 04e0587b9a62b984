"""Django admin for calendar events: read-only. Events are created and changed through
the audited services (the console, ``manage.py create_event``), which keep each
event's chatroom (assigned users, scheduled deletion) in step."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.calendar_events.models import CalendarEvent
from apps.core.admin import LargeTableAdmin


@admin.register(CalendarEvent)
class CalendarEventAdmin(LargeTableAdmin):
    list_display = ["title", "organization", "starts_at", "ends_at", "created_at"]
    list_select_related = ["organization"]
    search_prefix = ["title"]
    raw_id_fields = ["organization", "participants"]
    readonly_fields = [
        "organization",
        "title",
        "starts_at",
        "ends_at",
        "participants",
        "created_at",
        "updated_at",
    ]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
