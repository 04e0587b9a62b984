"""Permission rules of roles: one permission model for the whole product.

The operations the product checks are a registry in code
(:mod:`apps.permissions.registry`); a rule says whether a role (a v2 Role) is allowed or
denied an operation on a resource (``messaging:channel:*``, ``messaging:channel:42``).
Every check goes through :func:`apps.permissions.services.can`.
"""

from __future__ import annotations

from django.db import models

from apps.members.models import Role
from apps.organizations.models import Organization


class Rule(models.Model):
    class Access(models.TextChoices):
        ALLOW = "allow", "Allow"
        DENY = "deny", "Deny"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="rules")
    #: ``messaging:channel:*``, ``messaging:channel:42``, ``messaging`` ...
    resource = models.CharField(max_length=128)
    operation = models.CharField(max_length=64)
    access = models.CharField(max_length=8, choices=Access.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["role", "resource", "operation"], name="rule_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.access} {self.operation} on {self.resource} for {self.role_id}"
