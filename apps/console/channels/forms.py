"""Forms of the console's channel pages (list filters and every channel action).

Durations are picked from a few presets or typed in minutes; the forms turn them into the
milliseconds the services take (``mute_period`` / ``ban_period``), so the console and the
API share one rule. Limits are the services', as in the API: a reason's length
(``MAX_REASON_LENGTH``, 1,000 characters), userIds per action (``MAX_USER_IDS``, 1,000),
mute and ban bounds (ten years).
"""

from __future__ import annotations

import re
from typing import Any

from django import forms

from apps.audit.services import MAX_REASON_LENGTH
from apps.channels.services.channels import MAX_MUTE_PERIOD_MS, MAX_USER_IDS
from apps.console import durations
from apps.core.text import identifier_problem

MAX_USER_ID_LENGTH = 128
MINUTE_MS = 60 * 1000
#: The longest custom duration, in minutes (the services' ten-year bound).
MAX_MINUTES = MAX_MUTE_PERIOD_MS // MINUTE_MS

# The console's one list of durations (60 s ... 1 week, permanent, custom): see
# apps/console/durations.py. Re-exported here for the forms below and their importers.
DurationMixin = durations.DurationMixin
DURATION_PRESETS_MS = durations.PRESET_MS


class ReasonMixin(forms.Form):
    reason = forms.CharField(required=False, max_length=MAX_REASON_LENGTH)


def parse_user_ids(raw: str) -> list[str]:
    """userIds typed one per line or comma-separated: trimmed, empty ones dropped,
    duplicates removed (first occurrence kept)."""
    # Only spaces and tabs are trimmed: U+0085 or U+2028 at an end is refused, not cut.
    parts = (p.strip(" \t") for p in re.split(r"[,\r\n]+", raw or ""))
    return list(dict.fromkeys(p for p in parts if p))


class UserIdsField(forms.CharField):
    """A textarea of userIds (one per line or comma-separated) cleaned to a list."""

    widget = forms.Textarea(attrs={"rows": 3})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_USER_IDS * (MAX_USER_ID_LENGTH + 2))
        kwargs.setdefault("help_text", f"One per line or comma-separated; at most {MAX_USER_IDS}.")
        super().__init__(**kwargs)

    def clean(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().clean(value)
        user_ids = parse_user_ids(text)
        if not user_ids:
            raise forms.ValidationError("Enter at least one userId.")
        if len(user_ids) > MAX_USER_IDS:
            raise forms.ValidationError(f"At most {MAX_USER_IDS} userIds at a time.")
        for user_id in user_ids:
            problem = identifier_problem(user_id)
            if problem is not None:
                raise forms.ValidationError(f"userId {user_id[:40]!r}: {problem}")
        too_long = [u for u in user_ids if len(u) > MAX_USER_ID_LENGTH]
        if too_long:
            raise forms.ValidationError(
                f"A userId has at most {MAX_USER_ID_LENGTH} characters: {too_long[0][:40]}…"
            )
        return user_ids


def form_error_text(form: forms.Form) -> str:
    """One line naming every invalid field, for a flash message after a redirect."""
    parts = []
    for name, errors in form.errors.items():
        prefix = f"{form[name].label}: " if name in form.fields else ""
        parts.append(prefix + " ".join(str(e) for e in errors))
    return "Nothing was changed. " + "; ".join(parts)


# --- the list -------------------------------------------------------------------------------


class ChannelSearchForm(forms.Form):
    """The channel list's toolbar (GET). Sorting is ``?sort=`` (see the view)."""

    q = forms.CharField(required=False, max_length=128, label="Search")
    muted = forms.ChoiceField(
        required=False,
        choices=[("", "Any"), ("yes", "Muted"), ("no", "Not muted")],
        label="Muted",
    )
    state = forms.ChoiceField(
        required=False,
        choices=[
            ("open", "Open"),
            ("archived", "Archived"),
            ("deleted", "Deleted (restorable in the grace period)"),
            ("closed", "Closed"),
            ("all", "All"),
        ],
        label="State",
    )
    tag = forms.CharField(required=False, max_length=64, label="Tag")


# --- actions --------------------------------------------------------------------------------


class ChannelMuteForm(DurationMixin, ReasonMixin):
    field_order = ["duration", "minutes", "reason"]


class ChannelUnmuteForm(ReasonMixin):
    pass


class MembersAddForm(forms.Form):
    user_ids = UserIdsField(label="userIds")


class MembersRemoveForm(forms.Form):
    user_ids = UserIdsField(label="userIds")


class BanForm(DurationMixin, ReasonMixin):
    """A ban: a reason is required; the console's durations, permanent by default."""

    DEFAULT = durations.FOREVER
    field_order = ["reason", "duration", "minutes"]

    reason = forms.CharField(required=True, max_length=MAX_REASON_LENGTH)


class MembersBanForm(BanForm):
    user_ids = UserIdsField(label="userIds")

    field_order = ["user_ids", "reason", "duration", "minutes"]


class MembersUnbanForm(forms.Form):
    user_ids = UserIdsField(label="userIds")


class MembersMuteForm(DurationMixin, ReasonMixin):
    """Mute members in the channel (a member row's action): the console's durations."""

    user_ids = UserIdsField(label="userIds")

    field_order = ["user_ids", "duration", "minutes", "reason"]


class MembersUnmuteForm(forms.Form):
    user_ids = UserIdsField(label="userIds")


class ChannelStateForm(forms.Form):
    """Archive, unarchive or undelete: nothing to fill in (the POST is the action)."""


class ScheduledDeletionForm(forms.Form):
    """``at`` from a ``datetime-local`` input, read as UTC (the console's time zone)."""

    at = forms.DateTimeField(
        label="Delete at (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )


class ChannelCloseForm(ReasonMixin):
    """Closing is irreversible: the moderator types the channel's id; checked here,
    server-side, against the channel being closed (exact match, case included)."""

    confirm_channel_id = forms.CharField(
        max_length=MAX_USER_ID_LENGTH,
        label="Type the channel's id to confirm",
        strip=False,
    )

    def __init__(self, *args: Any, channel_id: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.channel_id = channel_id

    def clean_confirm_channel_id(self) -> str:
        value = self.cleaned_data["confirm_channel_id"]
        if value != self.channel_id:
            raise forms.ValidationError(
                "That is not this channel's id; the channel was not closed."
            )
        return value
