"""Argument parsing and error printing shared by the management commands (not a command:
this module is not under ``management/commands``). The commands write nothing
themselves: every write goes through a domain service, with the system actor
(``SYSTEM``), which records the audit entry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.core.validators import validate_email

from apps.audit.actor import Actor
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.organizations.models import AccessToken, Organization

#: Who the commands act as: the audit log names "system".
SYSTEM = Actor.system()

#: Member org roles the commands may grant.
GRANTABLE_ROLES = (Member.OrgRole.ADMIN, Member.OrgRole.MEMBER)


def organization_by_slug(slug: str) -> Organization:
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        raise CommandError(
            f"No organization with slug {slug!r}. "
            f"Create it with: manage.py create_organization {slug} --name NAME"
        )
    return organization


def checked_email(email: str, option: str = "--email") -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise CommandError(f"{option}: {email!r} is not a valid email address.") from exc
    if len(email) > Member._meta.get_field("user_id").max_length:
        raise CommandError(f"{option}: {email!r} is too long.")
    return email


def token_name(name: str, *, default: str) -> str:
    """``--name``, or ``default`` when it is empty (the services want a name)."""
    max_length = AccessToken._meta.get_field("name").max_length
    if len(name) > max_length:
        raise CommandError(f"--name is too long (at most {max_length} characters).")
    return name.strip() or default


@contextmanager
def domain_errors() -> Iterator[None]:
    """A refusal of a service, printed as the command's error (exit status 1)."""
    try:
        yield
    except DomainError as exc:
        raise CommandError(exc.message) from exc
