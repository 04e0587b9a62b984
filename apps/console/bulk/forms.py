"""The bulk action form: the selection (ticked ids or "all matching" the list's filters),
the action, one reason, and a duration for a mute or a ban (the console's one preset
list, apps/console/durations.py)."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.audit.services import MAX_REASON_LENGTH
from apps.console.channels.forms import MAX_USER_ID_LENGTH
from apps.console.durations import (
    CUSTOM,
    FOREVER,
    MAX_MINUTES,
    DurationChoiceField,
    duration_label,
    duration_ms,
)
from apps.core.form_fields import IntegerField
from apps.moderation import bulk

#: Label of each action in the toolbar's menu.
ACTION_LABELS = {
    bulk.DISMISS: "Dismiss the reports",
    bulk.DELETE: "Delete",
    bulk.HIDE: "Hide",
    bulk.UNHIDE: "Unhide",
    bulk.MUTE: "Mute",
    bulk.CHANNEL_BAN: "Ban from the channel",
    bulk.GLOBAL_BAN: "Ban everywhere",
}


class BulkSelectionForm(forms.Form):
    """Which rows: ``ids`` (ticked), or ``all`` with the list's ``query`` string (and
    ``until``, the largest id when the count was confirmed)."""

    bulk_list = forms.CharField(max_length=16)
    bulk_channel = forms.CharField(required=False, max_length=MAX_USER_ID_LENGTH)
    ids = forms.MultipleChoiceField(required=False)  # checked against the database
    all = forms.BooleanField(required=False)
    query = forms.CharField(required=False, max_length=4000)
    until = IntegerField(required=False, min_value=0)
    next = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ids"].valid_value = lambda value: True  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("all") and not data.get("ids"):
            raise forms.ValidationError("Tick at least one row, or “select all matching”.")
        return data


class BulkActionForm(forms.Form):
    """The action and its reason (required: one reason for every target), a duration for
    a mute or a ban, and for the user list's mute or channel ban the channel."""

    action = forms.ChoiceField(choices=list(ACTION_LABELS.items()))
    reason = forms.CharField(required=False, max_length=MAX_REASON_LENGTH, label="Reason")
    duration = DurationChoiceField(required=False, initial="1h")
    minutes = IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_MINUTES,
        label="Custom minutes",
        error_messages={"invalid": "Enter a whole number of minutes."},
    )
    target_channel = forms.CharField(
        required=False, max_length=MAX_USER_ID_LENGTH, label="Channel (channelId)"
    )
    confirmed = forms.BooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        action = data.get("action")
        duration = data.get("duration") or ""
        if action in (bulk.MUTE, bulk.CHANNEL_BAN, bulk.GLOBAL_BAN):
            if not duration:
                duration = "1h" if action == bulk.MUTE else FOREVER
                data["duration"] = duration
            if duration == CUSTOM and not data.get("minutes"):
                if "minutes" not in self.errors:
                    self.add_error("minutes", "Enter the number of minutes for a custom duration.")
                return data
            data["period_ms"] = duration_ms(duration, data.get("minutes"))
        return data

    def ready(self) -> bool:
        """Valid and with a reason: the confirmation step may run the action."""
        return self.is_valid() and bool((self.cleaned_data.get("reason") or "").strip())

    def duration_text(self) -> str:
        period = self.cleaned_data.get("period_ms")
        return duration_label(period) if period is not None else ""


def form_errors(*forms_: forms.Form) -> str:
    """Every error of these forms as one line."""
    parts = []
    for form in forms_:
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else None
            text = " ".join(str(e) for e in errors)
            parts.append(f"{label}: {text}" if label else text)
    return "; ".join(parts)
