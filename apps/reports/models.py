"""Reports (flags) by end users on users and on messages."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.members.models import Member
from apps.messages.models import Message
from apps.organizations.models import Organization


def report_open_q(prefix: str = "") -> Q:
    """Reports still open (not dismissed nor actioned): the review queue, a user's and a
    message's ``flagCount``. ``prefix`` is e.g. ``"reports__"`` to filter through a
    relation."""
    return Q(**{f"{prefix}state": "open"})


class Report(models.Model):
    """A report (flag) by an end user on a user or on one of their messages.

    ``target_member`` is the reported user, or the author of the reported message.
    A user's ``flagCount`` counts its open reports; a message's counts those naming it.
    """

    class State(models.TextChoices):
        OPEN = "open", "Open"
        DISMISSED = "dismissed", "Dismissed"
        ACTIONED = "actioned", "Actioned"

    # Reports go with their message in the database (DB_CASCADE); a model may not mix
    # database- and Python-level on_delete, and members are never deleted under them.
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+")
    reporter = models.ForeignKey(
        Member, on_delete=models.DO_NOTHING, null=True, blank=True, related_name="reports_made"
    )
    target_member = models.ForeignKey(Member, on_delete=models.DO_NOTHING, related_name="reports")
    target_message = models.ForeignKey(
        Message, on_delete=models.DB_CASCADE, null=True, blank=True, related_name="reports"
    )
    reason = models.TextField(blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    resolved_by_label = models.CharField(max_length=255, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    #: A moderator looking at the report's target in the console (its review item):
    #: others see it as taken and "next item" skips it while ``claimed_until`` is in the
    #: future. Acting on it, or the time running out, releases it (apps/reports/services.py).
    # DB_SET_NULL: SET NULL done by the database (a model may not mix database- and
    # Python-level on_delete, and target_message is DB_CASCADE).
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DB_SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "moderation_report"  # the table kept when the model left apps.moderation
        constraints = [
            # one open report per reporter and target
            models.UniqueConstraint(
                fields=["reporter", "target_member"],
                condition=report_open_q() & Q(target_message__isnull=True),
                name="report_one_open_per_user",
            ),
            models.UniqueConstraint(
                fields=["reporter", "target_message"],
                condition=report_open_q() & Q(target_message__isnull=False),
                name="report_one_open_per_message",
            ),
        ]
        indexes = [
            models.Index(
                fields=["target_member"], condition=report_open_q(), name="report_open_member"
            ),
            models.Index(
                fields=["target_message"], condition=report_open_q(), name="report_open_message"
            ),
            models.Index(fields=["organization", "state", "created_at"], name="report_queue"),
        ]

    def __str__(self) -> str:
        return f"report on {self.target_member} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN

    def claim_live(self, now: datetime | None = None) -> bool:
        """Whether someone's claim on the report still holds (``claimed_until`` ahead)."""
        if self.claimed_by_id is None or self.claimed_until is None:
            return False
        return self.claimed_until > (now or timezone.now())
