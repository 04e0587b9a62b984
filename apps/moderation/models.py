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
