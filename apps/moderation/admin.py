"""Django admin for the content filter's records: read-only (record changes go through
the services, which bump the matcher's version and audit: the API and the console)."""

from __future__ import annotations

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin
from apps.moderation.models import BlacklistRecord, WhitelistRecord


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
