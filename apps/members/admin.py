"""Django admin for members and roles: read-only. Global bans and the dismissal of a
user's open reports are actions that call the same audited services as the API and the
console; profile fields (display name, roles, metadata) change through the API."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.audit.actor import Actor
from apps.core.admin import ADMIN_REASON, LargeTableAdmin, ReadOnlyAdmin, service_action
from apps.members import services
from apps.members.models import Member, MemberSession, Role


@admin.register(Member)
class MemberAdmin(LargeTableAdmin):
    list_display = [
        "user_id",
        "display_name",
        "organization",
        "org_role",
        "banned_at",
        "created_at",
    ]
    list_select_related = ["organization"]
    list_filter = ["org_role"]
    search_exact = ["user_id"]
    search_prefix = ["display_name"]
    raw_id_fields = ["organization", "account"]
    show_full_result_count = False
    actions = ["ban_globally", "unban_globally", "dismiss_reports"]

    @service_action(description="Ban the selected users from their organization (audited)")
    def ban_globally(self, request: HttpRequest, queryset: QuerySet[Member]) -> None:
        actor = Actor(account=request.user)  # type: ignore[arg-type]
        self.call_service_for_each(
            request,
            queryset.select_related("organization"),
            lambda member: services.member_ban(actor=actor, member=member, reason=ADMIN_REASON),
            done="Banned {count} user(s).",
        )

    @service_action(description="Lift the global ban of the selected users (audited)")
    def unban_globally(self, request: HttpRequest, queryset: QuerySet[Member]) -> None:
        actor = Actor(account=request.user)  # type: ignore[arg-type]
        self.call_service_for_each(
            request,
            queryset.select_related("organization"),
            lambda member: services.member_unban(actor=actor, member=member, reason=ADMIN_REASON),
            done="Unbanned {count} user(s).",
        )

    @service_action(description="Dismiss every open report on the selected users (audited)")
    def dismiss_reports(self, request: HttpRequest, queryset: QuerySet[Member]) -> None:
        actor = Actor(account=request.user)  # type: ignore[arg-type]
        self.call_service_for_each(
            request,
            queryset.select_related("organization"),
            lambda member: services.member_flags_clear(actor=actor, member=member),
            done="Dismissed the open reports on {count} user(s).",
        )


@admin.register(Role)
class RoleAdmin(ReadOnlyAdmin):
    list_display = ["role_id", "organization", "created_at"]
    list_select_related = ["organization"]
    search_fields = ["role_id"]
    raw_id_fields = ["organization"]


@admin.register(MemberSession)
class MemberSessionAdmin(LargeTableAdmin):
    """Messaging API sessions: only the prefix is known (the token is hashed); the action
    revokes every session of the selected sessions' members, as ``DELETE
    /api/v2/users/:userId/sessions`` does (audited)."""

    list_display = ["prefix", "member", "organization", "created_at", "expires_at", "revoked_at"]
    list_select_related = ["member", "organization"]
    search_exact = ["prefix"]
    raw_id_fields = ["organization", "member"]
    show_full_result_count = False
    exclude = ["token_hash"]
    actions = ["revoke_sessions"]

    @service_action(description="Revoke every session of the selected sessions' users (audited)")
    def revoke_sessions(self, request: HttpRequest, queryset: QuerySet[MemberSession]) -> None:
        actor = Actor(account=request.user)  # type: ignore[arg-type]
        members = {s.member_id: s.member for s in queryset.select_related("member__organization")}
        self.call_service_for_each(
            request,
            list(members.values()),
            lambda member: services.member_sessions_revoke(actor=actor, member=member),
            done="Revoked the sessions of {count} user(s).",
        )
