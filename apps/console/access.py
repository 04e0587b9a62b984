"""Who may see which organization in the console, and with which role.

An Account sees an organization when it has a StaffRole there (owner, admin,
moderator); a superuser sees every organization as an owner. Anything else — an
unknown slug or another organization's — is a 404, exactly alike (DESIGN.md invariant 1).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.organizations.models import Organization, StaffRole

Role = StaffRole.Role
#: A role may do everything the roles below it may do.
ROLE_RANK = {Role.MODERATOR: 1, Role.ADMIN: 2, Role.OWNER: 3}


def console_organizations(account: Account) -> QuerySet[Organization]:
    """The organizations this account may open in the console."""
    if account.is_superuser:
        return Organization.objects.order_by("name")
    return Organization.objects.filter(staff__account=account).order_by("name")


def console_role(account: Account, organization: Organization) -> str | None:
    """The account's role in the organization (owner for superusers), or None."""
    if account.is_superuser:
        return Role.OWNER
    return (
        StaffRole.objects.filter(account=account, organization=organization)
        .values_list("role", flat=True)
        .first()
    )


def has_role(role: str | None, minimum: str) -> bool:
    return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role(minimum)]


class ConsoleView(LoginRequiredMixin, View):
    """Base of every page under ``/console/<org>/``.

    Resolves ``self.organization`` from the URL (404 unless the account is staff there),
    refuses with 403 below ``min_role``, and offers ``self.actor`` for services and
    ``self.render(...)`` with the context every console page needs.
    """

    min_role: str = Role.MODERATOR
    #: The navigation entry to highlight (dashboard, review, channels, ...).
    section: str = ""

    organization: Organization
    role: str
    actor: Actor

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        slug = kwargs.pop("org", None)
        organization = Organization.objects.filter(slug=slug).first() if slug else None
        role = console_role(request.user, organization) if organization else None
        if organization is None or role is None:
            raise Http404("No such organization.")
        if not has_role(role, self.min_role):
            raise PermissionDenied(f"This page needs the {self.min_role} role.")
        self.organization, self.role = organization, role
        self.actor = Actor(account=request.user)
        return super().dispatch(request, *args, **kwargs)

    def context(self, **extra: Any) -> dict[str, Any]:
        return {
            "organization": self.organization,
            "role": self.role,
            "is_org_admin": has_role(self.role, Role.ADMIN),
            "is_org_owner": has_role(self.role, Role.OWNER),
            "console_organizations": console_organizations(self.request.user),
            "section": self.section,
            **extra,
        }

    def render(self, template: str, status: int = 200, **extra: Any) -> HttpResponse:
        return render(self.request, template, self.context(**extra), status=status)
