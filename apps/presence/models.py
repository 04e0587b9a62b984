"""Members' statuses (messaging API ``/status/``).

A status is time-based state: ``expires_at`` passed means gone, on every read at once;
the beat sweep deletes expired rows. ``until_active``: cleared when the member next
posts (``expires: when-active``).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.members.models import Member
from apps.organizations.models import Organization


class Status(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="status")
    icon = models.CharField(max_length=64, blank=True)
    message = models.CharField(max_length=280, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    until_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["expires_at"], condition=Q(expires_at__isnull=False), name="status_expiry"
            ),
            models.Index(fields=["organization", "member"], name="status_org"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.icon} {self.message}"
