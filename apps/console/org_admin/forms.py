"""Forms of the organization administration pages: staff, access tokens, settings."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.core.form_fields import IntegerField
from apps.organizations.models import AccessToken, Organization, StaffRole
from apps.organizations.services import (
    BUILTIN_SEARCH_LANGUAGES,
    MAX_AUTO_HIDE_THRESHOLD,
    MAX_CHATROOM_DELETION_GRACE_SECONDS,
    MAX_EVENT_CHATROOM_RETENTION_DAYS,
)


def role_choices(*, is_owner: bool) -> list[tuple[str, str]]:
    """The roles this person may give: the owner role only by owners."""
    return [
        (value, label) for value, label in StaffRole.Role.choices if is_owner or value != "owner"
    ]


class StaffAddForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254)
    role = forms.ChoiceField(label="Role", initial=StaffRole.Role.MODERATOR)

    def __init__(self, *args: Any, is_owner: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(is_owner=is_owner)


class StaffRoleForm(forms.Form):
    # Every role is accepted here; the service refuses owner changes by non-owners with a
    # message that says why (rather than a bare "not a valid choice").
    role = forms.ChoiceField(label="Role", choices=StaffRole.Role.choices)


#: The token lists of the tokens page (``?kind=``): Admin API tokens and API-TOKENs.
TOKEN_KINDS = {
    AccessToken.Kind.ADMIN: "Admin API tokens",
    AccessToken.Kind.API: "API-TOKENs (chatroom service)",
}


class TokenIssueForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=AccessToken._meta.get_field("name").max_length,
        help_text="What the token is for, e.g. “CRM sync”.",
    )
    kind = forms.ChoiceField(
        choices=list(TOKEN_KINDS.items()),
        initial=AccessToken.Kind.ADMIN,
        required=False,
        widget=forms.HiddenInput,
    )

    def clean_kind(self) -> str:
        return self.cleaned_data.get("kind") or AccessToken.Kind.ADMIN


class SettingsForm(forms.Form):
    filter_policy = forms.ChoiceField(
        label="When a message contains blacklisted content",
        choices=Organization.FilterPolicy.choices,
        widget=forms.RadioSelect,
    )
    auto_hide_threshold = IntegerField(
        label="Hide a message automatically at this many open reports",
        required=False,
        min_value=1,
        max_value=MAX_AUTO_HIDE_THRESHOLD,
        help_text="Leave empty to never hide messages automatically.",
    )
    chatroom_deletion_grace_seconds = IntegerField(
        required=False,  # left out or empty: unchanged
        label="Keep a deleted chatroom's data for this many seconds before purging it",
        min_value=0,
        max_value=MAX_CHATROOM_DELETION_GRACE_SECONDS,
        help_text=(
            "A deleted chatroom is hidden at once; its messages, reactions and files are "
            "purged after this grace period (0: at the next sweep; at most 30 days = "
            f"{MAX_CHATROOM_DELETION_GRACE_SECONDS} seconds)."
        ),
    )
    event_chatroom_retention_days = IntegerField(
        required=False,  # left out or empty: unchanged
        label="Delete an event's chatroom this many days after the event ends",
        min_value=0,
        max_value=MAX_EVENT_CHATROOM_RETENTION_DAYS,
        help_text=(
            f"0 to {MAX_EVENT_CHATROOM_RETENTION_DAYS}. Applies to events created or whose "
            "end is changed from now on."
        ),
    )
    search_language = forms.ChoiceField(
        required=False,  # left out or empty: unchanged
        label="Language of message search",
        help_text=(
            "Messages are indexed for search in this language's text search configuration "
            "(word stems, stop words); “simple” only lowercases words. Changing it indexes "
            "every message of the organization again, which takes a while on a large one."
        ),
    )

    def __init__(self, *args: Any, search_language: str = "", **kwargs: Any) -> None:
        """``search_language``: the organization's current one (preselected, and offered
        even if it is not one of PostgreSQL's built-in configurations). The service checks
        the choice against the database itself."""
        super().__init__(*args, **kwargs)
        names = list(BUILTIN_SEARCH_LANGUAGES)
        if search_language and search_language not in names:
            names.append(search_language)
        field = self.fields["search_language"]
        field.choices = [("", "—")] + [(name, name) for name in names]
        field.initial = search_language or None
