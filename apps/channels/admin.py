"""Django admin for channels and memberships: read-only. Closing a channel, removing
users from a channel and lifting a channel ban are actions that call the audited
services (two-phase close: apps.retention); mute, ban, names and members otherwise
change through the API and the console."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.audit.actor import Actor
from apps.channels.models import Channel, Membership
from apps.channels.services import channels as services
from apps.core.admin import ADMIN_REASON, LargeTableAdmin, service_action
from apps.retention.services import channel_close


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
    show_full_result_count = False
    actions = ["close_channels"]

    @service_action(
        description="Close the selected channels: hide them, their messages and members, "
        "then purge (audited, irreversible)"
    )
    def close_channels(self, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
        actor = Actor(account=request.user)  # type: ignore[arg-type]
        self.call_service_for_each(
            request,
            queryset.select_related("organization"),
            lambda channel: channel_close(channel=channel, actor=actor, reason=ADMIN_REASON),
            done="Closed {count} channel(s); their messages are purged in the background.",
        )


@admin.register(Membership)
class MembershipAdmin(LargeTableAdmin):
    list_display = ["member", "channel", "joined_at", "muted_at", "banned_at"]
    list_select_related = ["member", "channel"]
    raw_id_fields = ["organization", "channel", "member"]
    show_full_result_count = False
    actions = ["remove_from_channel", "unban_in_channel"]

    def _per_channel(
        self,
        request: HttpRequest,
        queryset: QuerySet[Membership],
        call: Callable[..., Any],
        *,
        done: str,
    ) -> None:
        """One service call per channel, with the userIds of its selected memberships."""
        user_ids: dict[int, list[str]] = {}
        channels: dict[int, Channel] = {}
        for row in queryset.select_related("channel__organization", "member"):
            channels[row.channel_id] = row.channel
            user_ids.setdefault(row.channel_id, []).append(row.member.user_id)
        actor = Actor(account=request.user)  # type: ignore[arg-type]
        self.call_service_for_each(
            request,
            channels.values(),
            lambda channel: call(channel=channel, actor=actor, user_ids=user_ids[channel.pk]),
            done=done,
        )

    @service_action(description="Remove the selected users from their channels (audited)")
    def remove_from_channel(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        self._per_channel(
            request,
            queryset,
            services.channel_users_remove,
            done="Removed the selected users from {count} channel(s).",
        )

    @service_action(description="Lift the channel ban of the selected users (audited)")
    def unban_in_channel(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        self._per_channel(
            request,
            queryset,
            services.channel_users_unban,
            done="Lifted the selected users' bans in {count} channel(s).",
        )
