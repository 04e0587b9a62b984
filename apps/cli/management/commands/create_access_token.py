"""``manage.py create_access_token --org SLUG --email EMAIL [--name NAME]``.

Issues an Admin API v2 access token that acts for the organization. The account is
created if needed and given the ``admin`` console role there (an existing owner role
is kept). The raw token is printed once, alone on the last line, so scripts can take
it with ``| tail -n 1``; only its SHA-256 hash is stored.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from apps.accounts.services import account_get_or_create
from apps.organizations.models import AccessToken, Organization, StaffRole
from apps.organizations.services import staff_role_set, token_issue


class Command(BaseCommand):
    help = "Issue an Admin API access token for an organization; prints the token last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument("--email", required=True, help="the account the token belongs to")
        parser.add_argument("--name", default="", help="a label to recognise the token by")

    def handle(self, *args: Any, org: str, email: str, name: str, **options: Any) -> None:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(f"{email!r} is not a valid email address.") from exc
        if len(name) > AccessToken._meta.get_field("name").max_length:
            raise CommandError("--name is too long (at most 100 characters).")
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(
                f"No organization with slug {org!r}. "
                f"Create it with: manage.py create_organization {org} --name NAME"
            )
        with transaction.atomic():
            account, created = account_get_or_create(email=email)
            current = StaffRole.objects.filter(organization=organization, account=account).first()
            if current is None or current.role == StaffRole.Role.MODERATOR:
                staff_role_set(
                    organization=organization, account=account, role=StaffRole.Role.ADMIN
                )
            issued = token_issue(
                kind=AccessToken.Kind.ADMIN, account=account, organization=organization, name=name
            )
        if created:
            self.stdout.write(f"Created account {account.email} (no password; console login off).")
        self.stdout.write(
            f"Admin API access token {issued.token.prefix}… for {organization.slug} "
            f"(account {account.email}). It is shown only once; store it now:"
        )
        self.stdout.write(issued.raw)
