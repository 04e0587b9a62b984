"""Blacklist and whitelist records, and the daily counts of refused messages."""

from __future__ import annotations

from django.db import models

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


# --- bulk moderation jobs (apps/moderation/bulk.py; issue 16) ---------------------------------


class BulkJob(models.Model):
    """One bulk action over many targets, run by a Celery task in chunks (small ones run
    in the request and leave no row).

    ``targets`` is the frozen list of what the job acts on (``unit`` says what an item
    is: a report pk, a message pk, a member pk, or ``[member pk, channel pk]``);
    ``position`` is how many of them are done. A chunk's actions and the advance of
    ``position`` commit in one transaction, so a worker that dies mid-chunk leaves the
    chunk undone (it is redone whole) and a finished chunk is never redone.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    actor_account = models.ForeignKey(
        "accounts.Account", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=255)
    action = models.CharField(max_length=32)
    unit = models.CharField(max_length=32)
    reason = models.TextField(blank=True)
    #: mutePeriod / banPeriod (ms) and the channel pk of a mute or channel ban.
    params = models.JSONField(default=dict, blank=True)
    targets = models.JSONField(default=list, blank=True)
    total = models.PositiveIntegerField(default=0)
    position = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    #: The first failures: ``[{"target": "...", "error": "..."}]`` (capped).
    failures = models.JSONField(default=list, blank=True)
    #: For its undo (apps/moderation/bulk.py): ``records``, per target done, its state
    #: before and after (``{"b", "x", "e": audit entry}``, appended chunk by chunk), and
    #: ``by``, the pk of the job that undid it.
    undo = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["updated_at"],
                condition=~models.Q(state="finished"),
                name="bulkjob_unfinished",
            ),
        ]

    def __str__(self) -> str:
        return f"bulk {self.action} {self.position}/{self.total} ({self.state})"
