"""Admin site: organizations, console staff roles and access tokens.

Tokens are issued with ``manage.py create_access_token`` (the raw token is shown once);
the admin site lists them by prefix and revokes them, nothing more.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.audit.actor import Actor
from apps.organizations.models import AccessToken, Organization, StaffRole
from apps.organizations.services import (
    MAX_AUTO_HIDE_THRESHOLD,
    organization_settings_update,
    token_revoke,
)


class StaffRoleInline(admin.TabularInline):
    model = StaffRole
    extra = 0
    raw_id_fields = ["account"]


_SETTINGS = ("filter_policy", "auto_hide_threshold")


class OrganizationAdminForm(forms.ModelForm):
    """The moderation settings are form fields, not model fields of the form: the model
    save never writes them; ``OrganizationAdmin.save_model`` hands them to the audited
    ``organization_settings_update`` service."""

    filter_policy = forms.ChoiceField(
        choices=Organization.FilterPolicy.choices,
        initial=Organization.FilterPolicy.BLOCK,
        help_text="What the content filter does with a blacklisted message.",
    )
    auto_hide_threshold = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_AUTO_HIDE_THRESHOLD,
        help_text="Hide a message automatically at this many open reports (empty: never).",
    )

    class Meta:
        model = Organization
        # exclude, not fields: ModelAdmin passes its own field list to the form factory,
        # and only Meta.exclude keeps these two out of construct_instance().
        exclude = list(_SETTINGS)  # noqa: DJ006

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in _SETTINGS:
                self.initial[name] = getattr(self.instance, name)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    form = OrganizationAdminForm
    list_display = ["slug", "name", "filter_policy", "auto_hide_threshold", "created_at"]
    search_fields = ["slug", "name"]
    readonly_fields = [
        "filter_version",
        "chatroom_deletion_grace_seconds",
        "event_chatroom_retention_days",
        "created_at",
    ]
    inlines = [StaffRoleInline]

    def save_model(self, request: HttpRequest, obj: Organization, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # slug, name (never the settings)
        if not change or any(name in form.changed_data for name in _SETTINGS):
            updated = organization_settings_update(
                organization=obj,
                actor=Actor(account=request.user),
                filter_policy=form.cleaned_data["filter_policy"],
                auto_hide_threshold=form.cleaned_data["auto_hide_threshold"],
            )
            for name in _SETTINGS:
                setattr(obj, name, getattr(updated, name))


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
