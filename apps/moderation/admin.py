"""Django admin for the content filter's records and for reports (read-only: record
changes go through the services, which bump the matcher's version and audit)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from apps.core.admin import LargeTableAdmin
from apps.moderation.models import BlacklistRecord, WhitelistRecord
from apps.reports.models import Report


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(BlacklistRecord)
class BlacklistRecordAdmin(ReadOnlyAdmin):
    list_display = ["pattern", "is_match_exact_word", "organization", "created_at"]
    list_select_related = ["organization"]
    search_fields = ["pattern"]


@admin.register(WhitelistRecord)
class WhitelistRecordAdmin(ReadOnlyAdmin):
    list_display = ["pattern", "organization", "created_at"]
    list_select_related = ["organization"]
    search_fields = ["pattern"]


@admin.register(Report)
class ReportAdmin(LargeTableAdmin, ReadOnlyAdmin):
    list_display = ["target_member", "target_message", "reporter", "state", "created_at"]
    list_select_related = ["target_member", "target_message", "reporter"]
    list_filter = ["state"]
    show_full_result_count = False
