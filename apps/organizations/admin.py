"""Admin site: organizations, console staff roles and access tokens (read-only; the
writes are the audited services).

- An organization's moderation settings (filter policy, auto-hide threshold) are the one
  form on this site that writes, and only through ``organization_settings_update``. Its
  slug and name have no service: read-only here. Organizations are created with
  ``manage.py create_organization`` and are never deleted from here.
- Staff roles change and go through ``staff_role_change`` / ``staff_role_remove`` (the
  last owner stays); staff are added in the console (``staff_member_add``).
- Tokens are issued with ``manage.py create_access_token`` or in the console (shown once);
  here they are listed by prefix and revoked, nothing more.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.audit.actor import Actor
from apps.core.admin import ReadOnlyAdmin, ReadOnlyTabularInline, service_action
from apps.organizations.models import AccessToken, Organization, StaffRole
from apps.organizations.services import (
    MAX_AUTO_HIDE_THRESHOLD,
    access_token_revoke,
    organization_settings_update,
    staff_role_change,
    staff_role_remove,
)


class StaffRoleInline(ReadOnlyTabularInline):
    model = StaffRole
    fields = readonly_fields = ["account", "role", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StaffRole]:
        return super().get_queryset(request).select_related("account", "organization")


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
class OrganizationAdmin(ReadOnlyAdmin):
    """Opts in to "change" for the settings only: every model field is read-only, and
    ``save_model`` is the service call (``save_related`` writes nothing)."""

    allowed_writes = frozenset({"change"})
    form = OrganizationAdminForm
    list_display = ["slug", "name", "filter_policy", "auto_hide_threshold", "created_at"]
    search_fields = ["slug", "name"]
    readonly_fields = [
        "slug",
        "name",
        "filter_version",
        "search_language",
        "search_index_generation",
        "search_indexed_generation",
        "search_reindex_claimed_until",
        "chatroom_deletion_grace_seconds",
        "event_chatroom_retention_days",
        "created_at",
    ]
    inlines = [StaffRoleInline]

    def save_model(self, request: HttpRequest, obj: Organization, form: Any, change: bool) -> None:
        if not change:  # pragma: no cover - has_add_permission is False
            raise PermissionError("organizations are created with manage.py create_organization")
        if any(name in form.changed_data for name in _SETTINGS):
            updated = organization_settings_update(
                organization=obj,
                actor=Actor(account=request.user),  # type: ignore[arg-type]
                filter_policy=form.cleaned_data["filter_policy"],
                auto_hide_threshold=form.cleaned_data["auto_hide_threshold"],
            )
            for name in _SETTINGS:
                setattr(obj, name, getattr(updated, name))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Writes nothing: the staff inline is read-only (staff change through the staff
        role actions) and the organization has no many-to-many field. ``commit=False``
        only lists what was posted, for the admin's change message."""
        for formset in formsets:
            formset.save(commit=False)


@admin.register(StaffRole)
class StaffRoleAdmin(ReadOnlyAdmin):
    list_display = ["account", "organization", "role", "created_at"]
    list_filter = ["role"]
    list_select_related = ["account", "organization"]
    search_fields = ["account__email", "organization__slug"]
    raw_id_fields = ["account", "organization"]
    actions = ["make_owner", "make_admin", "make_moderator", "remove_from_staff"]

    def _change_role(self, request: HttpRequest, queryset: QuerySet[StaffRole], role: str) -> None:
        actor = Actor(account=request.user)  # type: ignore[arg-type]
        self.call_service_for_each(
            request,
            queryset.select_related("account", "organization"),
            lambda staff: staff_role_change(
                organization=staff.organization, actor=actor, staff_id=staff.pk, role=role
            ),
            done=f"{{count}} staff role(s) are now {role} (audited).",
        )

    @service_action(description="Make the selected staff owners (audited)")
    def make_owner(self, request: HttpRequest, queryset: QuerySet[StaffRole]) -> None:
        self._change_role(request, queryset, StaffRole.Role.OWNER)

    @service_action(description="Make the selected staff admins (audited)")
    def make_admin(self, request: HttpRequest, queryset: QuerySet[StaffRole]) -> None:
        self._change_role(request, queryset, StaffRole.Role.ADMIN)

    @service_action(description="Make the selected staff moderators (audited)")
    def make_moderator(self, request: HttpRequest, queryset: QuerySet[StaffRole]) -> None:
        self._change_role(request, queryset, StaffRole.Role.MODERATOR)

    @service_action(description="Remove the selected staff from their organization (audited)")
    def remove_from_staff(self, request: HttpRequest, queryset: QuerySet[StaffRole]) -> None:
        actor = Actor(account=request.user)  # type: ignore[arg-type]
        self.call_service_for_each(
            request,
            queryset.select_related("account", "organization"),
            lambda staff: staff_role_remove(
                organization=staff.organization, actor=actor, staff_id=staff.pk
            ),
            done="Removed {count} staff role(s) (audited).",
        )


@admin.register(AccessToken)
class AccessTokenAdmin(ReadOnlyAdmin):
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
    actions = ["revoke_tokens"]
    fields = list_display
    readonly_fields = list_display

    @service_action(description="Revoke the selected tokens")
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[AccessToken]) -> None:
        actor = Actor(account=request.user)  # type: ignore[arg-type]
        self.call_service_for_each(
            request,
            queryset.filter(revoked_at__isnull=True).select_related("organization", "account"),
            # an organization's token is audited there; a personal token has no
            # organization (its row keeps the trail), as when its owner revokes it
            lambda token: access_token_revoke(actor=actor, token=token),
            done="Revoked {count} token(s).",
        )
