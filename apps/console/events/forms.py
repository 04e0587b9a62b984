"""Forms of the events pages: an event's title, start, end and participants.

Participants are the organization's Members, one per line, by their userId or by the
email of the Account linked to them. Times are entered in UTC (the console's time zone);
an ISO time with an offset (e.g. ``2026-05-01T10:00:00+02:00``) is accepted too.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q

from apps.calendar_events.services import MAX_PARTICIPANTS, MAX_TITLE_LENGTH
from apps.members.models import Member
from apps.organizations.models import Organization

#: Longest participant line (an email address is at most 254 characters).
MAX_PARTICIPANT_LINE = 254
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def _datetime_field(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
        help_text="UTC, e.g. 2026-05-01 10:00.",
    )


class EventForm(forms.Form):
    title = forms.CharField(label="Title", max_length=MAX_TITLE_LENGTH)
    starts_at = _datetime_field("Start")
    ends_at = _datetime_field("End")
    participants = forms.CharField(
        label="Participants",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text=(
            f"Members of the organization, one per line: their userId or their email "
            f"(at most {MAX_PARTICIPANTS}). They are the users of the event's chatroom."
        ),
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean_participants(self) -> list[Member]:
        lines: list[str] = []
        for raw in self.cleaned_data.get("participants", "").splitlines():
            line = raw.strip()
            if line and line not in lines:
                lines.append(line)
        if len(lines) > MAX_PARTICIPANTS:
            raise forms.ValidationError(f"At most {MAX_PARTICIPANTS} participants.")
        too_long = [line for line in lines if len(line) > MAX_PARTICIPANT_LINE]
        if too_long:
            raise forms.ValidationError(
                f"A line is at most {MAX_PARTICIPANT_LINE} characters: {too_long[0][:40]}…"
            )
        if not lines:
            return []
        emails = [line.lower() for line in lines if "@" in line]
        # One query, scoped to this organization: another organization's members are
        # unknown here, exactly like members that do not exist.
        found = list(
            Member.objects.filter(organization=self.organization)
            .filter(Q(user_id__in=lines) | Q(account__email__in=emails))
            .select_related("account")
            .order_by("pk")
        )
        by_key: dict[str, Member] = {}
        for member in found:
            by_key.setdefault(member.user_id, member)
            if member.account is not None:
                by_key.setdefault(member.account.email.lower(), member)
        unknown = [line for line in lines if line not in by_key and line.lower() not in by_key]
        if unknown:
            shown = ", ".join(unknown[:10]) + (" …" if len(unknown) > 10 else "")
            raise forms.ValidationError(f"Not members of {self.organization.name}: {shown}")
        members = [by_key.get(line) or by_key[line.lower()] for line in lines]
        return list({member.pk: member for member in members}.values())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts_at and ends_at and ends_at < starts_at:
            self.add_error("ends_at", "The end must not be before the start.")
        return cleaned


class EventSearchForm(forms.Form):
    WHEN = [("upcoming", "Upcoming and ongoing"), ("past", "Past"), ("all", "All")]
    q = forms.CharField(label="Title", required=False, max_length=100)
    when = forms.ChoiceField(label="Show", choices=WHEN, required=False)
