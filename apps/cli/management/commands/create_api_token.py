"""``manage.py create_api_token --org SLUG [--email EMAIL] [--name NAME]``.

Issues an ``API-TOKEN`` of the organization (the chatroom service, /api/messenger/): it
acts on that organization only, with no user. A token is held by an Account (who
issued it, whose tokens go when the account goes): ``--email`` (created without a
password if new; no console role is granted), else the organization's first owner
(oldest owner role), else the system account ``system@chatadmin.invalid`` (created
without a password: it cannot log in). Issued by the console's audited service, by the
system (``token.issue``). The raw token is printed once, alone on the last line
(``| tail -n 1``); only its SHA-256 hash is stored. Revoke it in the console or with
``manage.py revoke_access_token``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from apps.accounts.models import Account
from apps.accounts.services import account_get_or_create
from apps.cli.arguments import (
    SYSTEM,
    checked_email,
    domain_errors,
    organization_by_slug,
    token_name,
)
from apps.organizations.models import AccessToken, Organization, StaffRole
from apps.organizations.services import organization_token_issue

#: The account that holds API tokens of organizations without an owner.
SYSTEM_ACCOUNT_EMAIL = "system@chatadmin.invalid"
DEFAULT_NAME = "manage.py create_api_token"


def issuing_account(organization: Organization, email: str | None) -> Account:
    if email:
        return account_get_or_create(email=email)[0]
    owner = (
        StaffRole.objects.filter(organization=organization, role=StaffRole.Role.OWNER)
        .select_related("account")
        .order_by("created_at", "pk")
        .first()
    )
    if owner is not None:
        return owner.account
    return account_get_or_create(email=SYSTEM_ACCOUNT_EMAIL)[0]


class Command(BaseCommand):
    help = "Issue an API-TOKEN (chatroom service) of an organization; prints the token last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument(
            "--email",
            default=None,
            help="the account that holds the token (default: the first owner, else the "
            f"system account {SYSTEM_ACCOUNT_EMAIL})",
        )
        parser.add_argument(
            "--name", default="", help=f"a label to recognise the token by ({DEFAULT_NAME!r})"
        )

    def handle(self, *args: Any, org: str, email: str | None, name: str, **options: Any) -> None:
        if email is not None:
            email = checked_email(email)
        name = token_name(name, default=DEFAULT_NAME)
        organization = organization_by_slug(org)
        with domain_errors(), transaction.atomic():
            account = issuing_account(organization, email)
            issued = organization_token_issue(
                organization=organization,
                actor=SYSTEM,
                account=account,
                kind=AccessToken.Kind.API,
                name=name,
            )
        self.stdout.write(
            f"API-TOKEN {issued.token.prefix}… for {organization.slug} (held by "
            f"{account.email}). It is shown only once; store it now:"
        )
        self.stdout.write(issued.raw)
