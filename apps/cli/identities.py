"""Helpers of the token and event commands (not a command: the name starts with _):
an Account by email and its Member in an organization, created if needed."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.core.validators import validate_email

from apps.accounts.models import Account
from apps.accounts.services import account_get_or_create
from apps.members.models import Member
from apps.members.services import members_provision
from apps.organizations.models import Organization

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


def member_of_account(
    *, organization: Organization, account: Account, role: str | None
) -> tuple[Member, bool]:
    """The account's Member in the organization: the one linked to it, else the Member
    whose user_id is the email (then linked), else a new one (user_id = email, org_role
    = ``role`` or member; a ``user.created`` event, by ``members_provision`` like every
    provisioning). An explicit ``role`` is applied to an existing Member too. Returns
    (member, created). Call inside a transaction."""
    for _ in range(2):  # the second look finds what a concurrent provisioning inserted
        member = _existing_member_of_account(organization=organization, account=account)
        if member is not None:
            if role and member.org_role != role:
                member.org_role = role
                member.save(update_fields=["org_role", "updated_at"])
            return member, False
        created = members_provision(
            organization=organization,
            rows=[
                Member(
                    organization=organization,
                    account=account,
                    user_id=account.email,
                    display_name=account.get_full_name() or account.email,
                    org_role=role or Member.OrgRole.MEMBER,
                )
            ],
        )
        if created:
            return created[0], True
    raise CommandError(f"Could not create the user {account.email!r}; retry.")


def _existing_member_of_account(*, organization: Organization, account: Account) -> Member | None:
    """The Member linked to the account, else the one whose user_id is the email (then
    linked to the account), else None."""
    member = Member.objects.filter(organization=organization, account=account).first()
    if member is not None:
        return member
    member = Member.objects.filter(organization=organization, user_id=account.email).first()
    if member is not None:
        if member.account_id is not None and member.account_id != account.pk:
            raise CommandError(
                f"The user {account.email!r} of {organization.slug} belongs to another account."
            )
        member.account = account
        member.save(update_fields=["account", "updated_at"])
    return member


def account_and_member(
    *, email: str, organization: Organization, role: str | None = None
) -> tuple[Account, Member]:
    account, _ = account_get_or_create(email=email)
    member, _ = member_of_account(organization=organization, account=account, role=role)
    return account, member
