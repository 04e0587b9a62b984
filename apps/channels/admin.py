"""Django admin for channels and memberships. Mute, ban and close state is read-only
here: those changes go through the services (API now, the console later)."""

from __future__ import annotations

from django.contrib import admin

from apps.channels.models import Channel, Membership
from apps.core.admin import LargeTableAdmin


@admin.register(Channel)
class ChannelAdmin(LargeTableAdmin):
    list_display = [
        "channel_id",
        "display_name",
        "organization",
        "member_count",
        "message_count",
        "muted_at",
        "closed_at",
        "last_activity_at",
    ]
    list_select_related = ["organization"]
    search_exact = ["channel_id"]
    search_prefix = ["display_name"]
    raw_id_fields = ["organization"]
    readonly_fields = [
        "muted_at",
        "mute_expires_at",
        "closed_at",
        "member_count",
        "message_count",
        "last_activity_at",
        "created_at",
        "updated_at",
    ]
    show_full_result_count = False


@admin.register(Membership)
class MembershipAdmin(LargeTableAdmin):
    list_display = ["member", "channel", "joined_at", "muted_at", "banned_at"]
    list_select_related = ["member", "channel"]
    raw_id_fields = ["organization", "channel", "member"]
    readonly_fields = ["muted_at", "mute_expires_at", "banned_at", "ban_expires_at", "ban_reason"]
    show_full_result_count = False
