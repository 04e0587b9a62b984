"""Django admin for calendar events: read-only (``LargeTableAdmin``). Events are created
and changed through the audited services (the console, ``manage.py create_event``),
which keep each event's chatroom (assigned users, scheduled deletion) in step."""

from __future__ import annotations

from django.contrib import admin

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
