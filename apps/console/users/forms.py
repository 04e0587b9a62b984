"""Forms of the console's user pages: the list toolbar and every action on a user."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms

from apps.console.channels.forms import MAX_USER_ID_LENGTH, BanForm, DurationMixin, ReasonMixin

MAX_DISPLAY_NAME_LENGTH = 255


class UserSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=128, label="Search userId or name")
    filter = forms.ChoiceField(
        required=False,
        choices=[("all", "All users"), ("flagged", "Flagged (open reports)")],
        label="Show",
    )
    state = forms.ChoiceField(
        required=False,
        choices=[
            ("any", "Any state"),
            ("active", "Active"),
            ("deactivated", "Deactivated"),
            ("removed", "Removed"),
        ],
        label="State",
    )


class RevokeSessionsForm(forms.Form):
    """Revoke every live session of the user (the POST is the action; confirmed)."""


class UserBanForm(BanForm):
    """A global ban: reason required; permanent or for a while (the console's presets);
    ``resolve_reports``: also resolve the user's open reports (actioned, same reason)."""

    resolve_reports = forms.BooleanField(
        required=False, label="Also resolve this user's open reports (same reason)"
    )


class UserUnbanForm(ReasonMixin):
    pass


class UserMuteForm(DurationMixin, ReasonMixin):
    """Mute the user in one of the channels they are in (choices given by the view)."""

    channel = forms.ChoiceField(label="Channel")

    field_order = ["channel", "duration", "minutes", "reason"]

    def __init__(self, *args: Any, channel_ids: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [(c, c) for c in channel_ids]


class UserUnmuteForm(forms.Form):
    channel = forms.CharField(max_length=MAX_USER_ID_LENGTH)


class UserEditForm(forms.Form):
    """displayName and roles (checkboxes of the organization's Role rows; replaced)."""

    display_name = forms.CharField(
        max_length=MAX_DISPLAY_NAME_LENGTH, label="Display name", required=True
    )
    roles = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Roles"
    )

    def __init__(self, *args: Any, role_ids: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = [(r, r) for r in role_ids]
