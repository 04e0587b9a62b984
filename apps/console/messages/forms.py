"""Forms of the console's message search and message deletion."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.audit.services import MAX_REASON_LENGTH
from apps.console.channels.forms import MAX_USER_ID_LENGTH

MAX_TEXT_QUERY_LENGTH = 200


class MessageSearchForm(forms.Form):
    """The message search toolbar (GET). Every field is optional."""

    q = forms.CharField(required=False, max_length=MAX_TEXT_QUERY_LENGTH, label="Text contains")
    channel = forms.CharField(required=False, max_length=MAX_USER_ID_LENGTH, label="Channel id")
    author = forms.CharField(required=False, max_length=MAX_USER_ID_LENGTH, label="Author userId")
    since = forms.DateField(
        required=False, label="From (UTC)", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To (UTC, inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )
    deleted = forms.ChoiceField(
        required=False,
        choices=[("exclude", "Not deleted"), ("include", "Deleted too"), ("only", "Only deleted")],
        label="Deleted",
    )
    hidden = forms.ChoiceField(
        required=False,
        choices=[("any", "Hidden too"), ("exclude", "Not hidden"), ("only", "Only hidden")],
        label="Hidden",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data


class MessageDeleteForm(forms.Form):
    message_id = forms.UUIDField(label="messageId")
    reason = forms.CharField(max_length=MAX_REASON_LENGTH, label="Reason")
    next = forms.CharField(required=False, max_length=2000)
