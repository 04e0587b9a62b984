"""Django admin for members and roles. Moderation state is read-only here: bans go
through the actions, which call the same services (and audit) as the API."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.audit.actor import Actor
from apps.core.admin import LargeTableAdmin
from apps.members import services
from apps.members.models import Member, Role


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
    readonly_fields = ["banned_at", "ban_expires_at", "ban_reason", "created_at", "updated_at"]
    show_full_result_count = False
    actions = ["ban_globally", "unban_globally"]

    @admin.action(description="Ban the selected users from their organization")
    def ban_globally(self, request: HttpRequest, queryset: QuerySet[Member]) -> None:
        actor = Actor(account=request.user)  # type: ignore[arg-type]
        for member in queryset:
            services.member_ban(actor=actor, member=member, reason="Django admin")
        self.message_user(request, f"Banned {queryset.count()} user(s).", messages.SUCCESS)

    @admin.action(description="Lift the global ban of the selected users")
    def unban_globally(self, request: HttpRequest, queryset: QuerySet[Member]) -> None:
        actor = Actor(account=request.user)  # type: ignore[arg-type]
        for member in queryset:
            services.member_unban(actor=actor, member=member)
        self.message_user(request, f"Unbanned {queryset.count()} user(s).", messages.SUCCESS)


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ["role_id", "organization", "created_at"]
    list_select_related = ["organization"]
    search_fields = ["role_id"]
    raw_id_fields = ["organization"]
