"""``manage.py create_personal_token --email EMAIL [--org SLUG --role admin|member] [--name NAME]``.

Issues a ``Personal-Access-Token`` of an Account (the chatroom service): it acts as the
Account's Member in each organization, with that Member's permissions there. The
Account is created if needed (without a password). With ``--org``, its Member there is
found, or linked to the Account (an existing user with that userId: audited
``user.link``), or created (userId = the email, org role ``--role``, default member); an
explicit ``--role`` also changes an existing Member's org role (audited
``user.org_role``). All by the system, through ``member_get_or_create_for_account``. The
token itself is issued by ``personal_token_issue`` (a personal token belongs to no
organization, so no organization's audit log records it). The raw token is printed once,
alone on the last line.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.accounts.services import account_get_or_create
from apps.cli.arguments import (
    GRANTABLE_ROLES,
    SYSTEM,
    checked_email,
    domain_errors,
    organization_by_slug,
    token_name,
)
from apps.members.models import Member
from apps.members.services import member_get_or_create_for_account
from apps.organizations.services import personal_token_issue

DEFAULT_NAME = "manage.py create_personal_token"


class Command(BaseCommand):
    help = "Issue a Personal-Access-Token of an account; prints the token last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True, help="the account (created if needed)")
        parser.add_argument("--org", default=None, help="an organization to make it a user of")
        parser.add_argument(
            "--role",
            default=None,
            choices=[str(r) for r in GRANTABLE_ROLES],
            help="its org role there (with --org; default member)",
        )
        parser.add_argument(
            "--name", default="", help=f"a label to recognise the token by ({DEFAULT_NAME!r})"
        )

    def handle(
        self,
        *args: Any,
        email: str,
        org: str | None,
        role: str | None,
        name: str,
        **options: Any,
    ) -> None:
        email = checked_email(email)
        if role is not None and org is None:
            raise CommandError("--role needs --org (the organization the role is in).")
        name = token_name(name, default=DEFAULT_NAME)
        organization = organization_by_slug(org) if org is not None else None
        with domain_errors(), transaction.atomic():
            account, account_created = account_get_or_create(email=email)
            member = None
            if organization is not None:
                member, _ = member_get_or_create_for_account(
                    organization=organization,
                    account=account,
                    actor=SYSTEM,
                    role=role or Member.OrgRole.MEMBER,
                    set_role=role is not None,
                    claim_user_id=True,
                )
            issued = personal_token_issue(account=account, name=name)
        if account_created:
            self.stdout.write(f"Created account {account.email} (no password; console login off).")
        if member is not None:
            self.stdout.write(
                f"User {member.user_id} (id {member.pk}) is {member.org_role} of "
                f"{organization.slug}."
            )
        self.stdout.write(
            f"Personal-Access-Token {issued.token.prefix}… of {account.email}. "
            "It is shown only once; store it now:"
        )
        self.stdout.write(issued.raw)
