"""``manage.py create_access_token --org SLUG --email EMAIL [--name NAME]``.

Issues an Admin API v2 access token that acts for the organization. The account is
created if needed and given the ``admin`` console role there (an existing owner or admin
role is kept, a moderator is made admin). Everything goes through the console's audited
services, by the system: ``staff.add`` or ``staff.role``, then ``token.issue``. The raw
token is printed once, alone on the last line, so scripts can take it with
``| tail -n 1``; only its SHA-256 hash is stored.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from apps.accounts.services import account_get_or_create
from apps.cli.arguments import (
    SYSTEM,
    checked_email,
    domain_errors,
    organization_by_slug,
    token_name,
)
from apps.organizations.models import AccessToken, StaffRole
from apps.organizations.services import (
    organization_token_issue,
    staff_role_at_least,
)

DEFAULT_NAME = "manage.py create_access_token"


class Command(BaseCommand):
    help = "Issue an Admin API access token for an organization; prints the token last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument("--email", required=True, help="the account the token belongs to")
        parser.add_argument(
            "--name", default="", help=f"a label to recognise the token by ({DEFAULT_NAME!r})"
        )

    def handle(self, *args: Any, org: str, email: str, name: str, **options: Any) -> None:
        email = checked_email(email)
        name = token_name(name, default=DEFAULT_NAME)
        organization = organization_by_slug(org)
        with domain_errors(), transaction.atomic():
            account, created = account_get_or_create(email=email)
            staff_role_at_least(
                organization=organization,
                actor=SYSTEM,
                account=account,
                role=StaffRole.Role.ADMIN,
            )
            issued = organization_token_issue(
                organization=organization,
                actor=SYSTEM,
                account=account,
                kind=AccessToken.Kind.ADMIN,
                name=name,
            )
        if created:
            self.stdout.write(f"Created account {account.email} (no password; console login off).")
        self.stdout.write(
            f"Admin API access token {issued.token.prefix}… for {organization.slug} "
            f"(account {account.email}). It is shown only once; store it now:"
        )
        self.stdout.write(issued.raw)
