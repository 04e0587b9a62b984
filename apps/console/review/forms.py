"""The review queue's action form: one POST per action, each with an optional reason."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.audit.services import MAX_REASON_LENGTH
from apps.console.channels.forms import MAX_MINUTES, MINUTE_MS
from apps.core.form_fields import IntegerField

#: The longest custom mute, in minutes (the services' ten-year bound).
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
#: Fixed mute choices (minutes) offered as buttons, plus "custom".
MUTE_PRESETS = {"60": "1 h", "1440": "24 h"}
#: Global ban lengths: milliseconds (-1: until unbanned).
BAN_PERIODS = {
    "forever": ("until unbanned", -1),
    "1d": ("1 day", 24 * 3600 * 1000),
    "7d": ("7 days", 7 * 24 * 3600 * 1000),
    "30d": ("30 days", 30 * 24 * 3600 * 1000),
}


class ReviewActionForm(forms.Form):
    """``action`` and ``reason`` always; ``duration`` (``60``, ``1440`` or ``custom``
    with ``minutes``) for a mute; ``ban_period`` for a global ban; ``channel`` (a
    channelId) for a mute or channel ban of a reported *user* (a reported message's
    channel is the message's own)."""

    action = forms.ChoiceField(choices=ACTIONS)
    reason = forms.CharField(required=False, max_length=MAX_REASON_LENGTH)
    duration = forms.ChoiceField(
        required=False, choices=[*MUTE_PRESETS.items(), ("custom", "custom")]
    )
    minutes = IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_MUTE_MINUTES,
        error_messages={"invalid": "Custom minutes: enter a whole number of minutes."},
    )
    ban_period = forms.ChoiceField(
        required=False, choices=[(k, label) for k, (label, _) in BAN_PERIODS.items()]
    )
    channel = forms.CharField(required=False, max_length=128)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        action = data.get("action")
        if action == MUTE:
            duration = data.get("duration") or ""
            if duration in MUTE_PRESETS:
                data["mute_minutes"] = int(duration)
            elif duration == "custom":
                if "minutes" in self.errors:
                    return data
                if data.get("minutes") is None:
                    self.add_error("minutes", "Custom minutes: enter how many minutes.")
                    return data
                data["mute_minutes"] = data["minutes"]
            else:
                self.add_error("duration", "Choose how long to mute for.")
                return data
            data["mute_period"] = data["mute_minutes"] * MINUTE_MS
        if action == GLOBAL_BAN:
            data["ban_period_ms"] = BAN_PERIODS[data.get("ban_period") or "forever"][1]
        return data

    def first_error(self) -> str:
        """The first error as one sentence, for the message shown after the POST."""
        labels = {
            "action": "Action",
            "reason": "Reason",
            "duration": "Mute length",
            "minutes": "Custom minutes",
            "ban_period": "Ban length",
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


def mute_label(minutes: int) -> str:
    """``1 h``, ``24 h``, ``90 min``, ``3 days``: how long a mute lasts, for messages."""
    if minutes % 1440 == 0:
        days = minutes // 1440
        return "24 h" if days == 1 else f"{days} days"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


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
