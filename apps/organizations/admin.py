"""Admin site: organizations, console staff roles and access tokens.

Tokens are issued with ``manage.py create_access_token`` (the raw token is shown once);
the admin site lists them by prefix and revokes them, nothing more.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import AccessToken, Organization, StaffRole
from .services import token_revoke


class StaffRoleInline(admin.TabularInline):
    model = StaffRole
    extra = 0
    raw_id_fields = ["account"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    readonly_fields = ["filter_version", "created_at"]
    inlines = [StaffRoleInline]


@admin.register(StaffRole)
class StaffRoleAdmin(admin.ModelAdmin):
    list_display = ["account", "organization", "role", "created_at"]
    list_filter = ["role"]
    list_select_related = ["account", "organization"]
    search_fields = ["account__email", "organization__slug"]
    raw_id_fields = ["account", "organization"]


@admin.action(description="Revoke the selected tokens")
def revoke_tokens(modeladmin: Any, request: HttpRequest, queryset: QuerySet[AccessToken]) -> None:
    count = 0
    for token in queryset.filter(revoked_at__isnull=True):
        token_revoke(token=token)
        count += 1
    modeladmin.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "kind",
        "organization",
        "account",
        "name",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["kind", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["organization", "account"]
    search_fields = ["prefix", "name", "account__email", "organization__slug"]
    actions = [revoke_tokens]
    fields = list_display
    readonly_fields = list_display

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # issue tokens with `manage.py create_access_token` (shown once)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
