"""Blacklist and whitelist records, and reports (flags) on users and messages."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.members.models import Member
from apps.messages.models import Message
from apps.organizations.models import Organization


class BlacklistRecord(models.Model):
    """A word or regular expression that messages may not contain.

    The API's ``ruleId`` is the pattern itself (the document updates a record by its
    word). ``is_match_exact_word``: whole words only, else any substring. Case is ignored.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    pattern = models.CharField(max_length=255)
    is_match_exact_word = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "pattern"], name="blacklist_unique"),
        ]

    def __str__(self) -> str:
        return self.pattern


class WhitelistRecord(models.Model):
    """An allowed URL: a host (and its subdomains), optionally with a path prefix."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    pattern = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "pattern"], name="whitelist_unique"),
        ]

    def __str__(self) -> str:
        return self.pattern


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

    class Meta:
        constraints = [
            # one open report per reporter and target
            models.UniqueConstraint(
                fields=["reporter", "target_member"],
                condition=Q(state="open", target_message__isnull=True),
                name="report_one_open_per_user",
            ),
            models.UniqueConstraint(
                fields=["reporter", "target_message"],
                condition=Q(state="open", target_message__isnull=False),
                name="report_one_open_per_message",
            ),
        ]
        indexes = [
            models.Index(
                fields=["target_member"], condition=Q(state="open"), name="report_open_member"
            ),
            models.Index(
                fields=["target_message"], condition=Q(state="open"), name="report_open_message"
            ),
            models.Index(fields=["organization", "state", "created_at"], name="report_queue"),
        ]

    def __str__(self) -> str:
        return f"report on {self.target_member} ({self.state})"


class FilterRefusalDay(models.Model):
    """How many messages the content filter refused, per organization and UTC day (for
    the console's dashboard). Counted on the posting paths, not by "try a message"."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    blacklisted = models.PositiveIntegerField(default=0)
    not_whitelisted = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "day"], name="filterrefusal_day"),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day}: {self.blacklisted + self.not_whitelisted}"
