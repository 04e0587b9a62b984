"""Writes on members (chat users) and roles."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import IntegrityError, transaction

from apps.accounts.models import Account
from apps.organizations.models import Organization

from .models import Member


def members_resolve(*, organization: Organization, user_ids: Sequence[str]) -> list[Member]:
    """The members with these userIds, in the given order; unknown ones are provisioned
    (as a client SDK's first login would do). See docs/api.md."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return []
    existing = {
        m.user_id: m for m in Member.objects.filter(organization=organization, user_id__in=wanted)
    }
    missing = [uid for uid in wanted if uid not in existing]
    if missing:
        Member.objects.bulk_create(
            [Member(organization=organization, user_id=uid, display_name=uid) for uid in missing],
            ignore_conflicts=True,  # a concurrent request may provision the same user
        )
        existing.update(
            {
                m.user_id: m
                for m in Member.objects.filter(organization=organization, user_id__in=missing)
            }
        )
    return [existing[uid] for uid in wanted]


def member_for_account(*, organization: Organization, account: Account) -> Member:
    """The account's member in the organization (created as an org admin if needed).

    Used when an admin token acts as a chat participant (admin messages, reactions).
    """
    member = Member.objects.filter(organization=organization, account=account).first()
    if member is not None:
        return member
    base = account.email
    for attempt in range(5):
        user_id = base if attempt == 0 else f"{base}#{attempt}"
        try:
            with transaction.atomic():
                return Member.objects.create(
                    organization=organization,
                    account=account,
                    user_id=user_id,
                    display_name=account.get_full_name() or account.email,
                    org_role=Member.OrgRole.ADMIN,
                )
        except IntegrityError:
            member = Member.objects.filter(organization=organization, account=account).first()
            if member is not None:
                return member
    raise RuntimeError(f"could not provision a member for {account.email}")
