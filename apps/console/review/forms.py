"""The review item's action panel (one form, one reason for every action) and the
queue's filters.

The panel's submit buttons name the ``action``; the duration (the console's presets,
apps/console/durations.py) applies to a mute and to both bans; "also resolve this
user's open reports" (``resolve_all``) resolves the user's other open reports with the
same reason.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms

from apps.audit.services import MAX_REASON_LENGTH
from apps.console.durations import (
    CUSTOM,
    MAX_MINUTES,
    DurationChoiceField,
    duration_ms,
)
from apps.core.form_fields import IntegerField

#: The longest custom duration, in minutes (the services' ten-year bound).
MAX_MUTE_MINUTES = MAX_MINUTES

DISMISS, DELETE, MUTE, CHANNEL_BAN, GLOBAL_BAN = (
    "dismiss",
    "delete",
    "mute",
    "channel_ban",
    "global_ban",
)
#: The actions that handle the reports (they become ``actioned``); dismiss dismisses.
ACTIONS = [
    (DISMISS, "Dismiss the reports"),
    (DELETE, "Delete the message"),
    (MUTE, "Mute the author in the channel"),
    (CHANNEL_BAN, "Ban the author from the channel"),
    (GLOBAL_BAN, "Ban the user everywhere"),
]
#: The actions that take the duration.
TIMED_ACTIONS = (MUTE, CHANNEL_BAN, GLOBAL_BAN)
#: The panel's preset chosen when the page opens.
DEFAULT_DURATION = "1h"


class ReviewActionForm(forms.Form):
    """``action`` and ``reason`` always; ``duration`` (a preset, ``forever`` or
    ``custom`` with ``minutes``) for a mute or a ban; ``channel`` (a channelId) for a
    mute or channel ban of a reported *user* (a reported message's channel is the
    message's own); ``resolve_all``: also resolve the user's other open reports.

    Cleaned data adds ``period_ms`` (the services' milliseconds, -1: forever) for the
    timed actions."""

    action = forms.ChoiceField(choices=ACTIONS)
    reason = forms.CharField(required=False, max_length=MAX_REASON_LENGTH)
    duration = DurationChoiceField(required=False, initial=DEFAULT_DURATION)
    minutes = IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_MUTE_MINUTES,
        error_messages={"invalid": "Custom minutes: enter a whole number of minutes."},
    )
    channel = forms.CharField(required=False, max_length=128)
    resolve_all = forms.BooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("action") not in TIMED_ACTIONS or "duration" in self.errors:
            return data
        duration = data.get("duration") or ""
        if not duration:
            self.add_error("duration", "Choose how long.")
            return data
        if duration == CUSTOM:
            if "minutes" in self.errors:
                return data
            if data.get("minutes") is None:
                self.add_error("minutes", "Custom minutes: enter how many minutes.")
                return data
        data["period_ms"] = duration_ms(duration, data.get("minutes"))
        return data

    def first_error(self) -> str:
        """The first error as one sentence, for the message shown after the POST."""
        labels = {
            "action": "Action",
            "reason": "Reason",
            "duration": "Duration",
            "minutes": "Custom minutes",
            "channel": "Channel",
        }
        for field, errors in self.errors.items():
            if errors:
                text = str(errors[0])
                label = labels.get(field)
                if label is None or text.startswith(label):
                    return text
                return f"{label}: {text}"
        return "The form is not valid."


class ReviewFilterForm(forms.Form):
    """The queue's filters (GET). Invalid values are ignored (the filter is dropped)."""

    kind = forms.ChoiceField(
        required=False,
        choices=[("", "Messages and users"), ("message", "Messages"), ("user", "Users")],
        label="Target",
    )
    source = forms.ChoiceField(
        required=False,
        choices=[("", "Anyone"), ("users", "End users"), ("system", "The content filter")],
        label="Reported by",
    )
    user = forms.CharField(required=False, max_length=128, label="Reported user (userId)")
    channel = forms.CharField(required=False, max_length=128, label="Channel (channelId)")
    sort = forms.ChoiceField(
        required=False,
        choices=[("oldest", "Oldest first"), ("newest", "Newest first")],
        label="Order",
    )

    def query_string(self) -> str:
        """The valid, non-empty filters and order as a query string (``?kind=user&...``,
        or ``""``): carried from the queue to an item, to the next item and back, so the
        queue's filters hold all the way."""
        self.is_valid()
        data = self.cleaned_data
        params = {
            name: (data.get(name) or "").strip()
            for name in ("kind", "source", "user", "channel", "sort")
        }
        if params["sort"] == "oldest":
            params["sort"] = ""  # the default
        query = urlencode({k: v for k, v in params.items() if v})
        return f"?{query}" if query else ""

    def newest_first(self) -> bool:
        """Whether the queue is in "newest first" order (next item: the next older one)."""
        self.is_valid()
        return self.cleaned_data.get("sort") == "newest"

    def filters(self) -> dict[str, str]:
        """The valid filters, by the names review_groups takes."""
        self.is_valid()  # cleaned_data keeps the valid fields of an invalid form
        data = self.cleaned_data
        return {
            "kind": data.get("kind") or "",
            "source": data.get("source") or "",
            "user_id": (data.get("user") or "").strip(),
            "channel_id": (data.get("channel") or "").strip(),
        }
