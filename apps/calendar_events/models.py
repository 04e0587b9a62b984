"""An organization's events (a meeting, a course day, a conference). Each event owns one
chatroom of type ``event`` whose assigned users follow the event's participants and
whose scheduled deletion is the event's end plus the organization's retention.

(Not to be confused with apps.events, the outbox of domain events.)
"""

from __future__ import annotations

from django.db import models

from apps.members.models import Member
from apps.organizations.models import Organization


class CalendarEvent(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="calendar_events"
    )
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    participants = models.ManyToManyField(Member, blank=True, related_name="calendar_events")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gte=models.F("starts_at")),
                name="calendarevent_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["organization", "starts_at"], name="calendarevent_org")]

    def __str__(self) -> str:
        return self.title
