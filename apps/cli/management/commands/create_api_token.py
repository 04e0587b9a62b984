"""``manage.py create_api_token --org SLUG [--email EMAIL] [--name NAME]``.

Issues an ``API-TOKEN`` of the organization (the chatroom service, /api/messenger/): it
acts on that organization only, with no user. A token is held by an Account (who
issued it, whose tokens go when the account goes): ``--email`` (created without a
password if new; no console role is granted), else the organization's first owner
(oldest owner role), else the system account ``system@chatadmin.invalid`` (created
without a password: it cannot log in). Audited as ``token.issue`` by the system. The
raw token is printed once, alone on the last line (``| tail -n 1``); only its SHA-256
hash is stored. Revoke it in the console or with ``manage.py revoke_access_token``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.accounts.models import Account
from apps.accounts.services import account_get_or_create
from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.cli.identities import checked_email, organization_by_slug
from apps.organizations.models import AccessToken, Organization, StaffRole
from apps.organizations.services import token_issue

#: The account that holds API tokens of organizations without an owner.
SYSTEM_ACCOUNT_EMAIL = "system@chatadmin.invalid"


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
        parser.add_argument("--name", default="", help="a label to recognise the token by")

    def handle(self, *args: Any, org: str, email: str | None, name: str, **options: Any) -> None:
        if email is not None:
            email = checked_email(email)
        if len(name) > AccessToken._meta.get_field("name").max_length:
            raise CommandError("--name is too long (at most 100 characters).")
        organization = organization_by_slug(org)
        with transaction.atomic():
            account = issuing_account(organization, email)
            issued = token_issue(
                kind=AccessToken.Kind.API, account=account, organization=organization, name=name
            )
            audit_record(
                organization=organization,
                actor=Actor.system(),
                action="token.issue",
                target_type="access_token",
                target_id=str(issued.token.pk),
                after={"name": name, "prefix": issued.token.prefix, "kind": issued.token.kind},
            )
        self.stdout.write(
            f"API-TOKEN {issued.token.prefix}… for {organization.slug} (held by "
            f"{account.email}). It is shown only once; store it now:"
        )
        self.stdout.write(issued.raw)
