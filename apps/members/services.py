"""Writes on members (chat users) and roles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.core.errors import DomainError
from apps.moderation.models import Report
from apps.organizations.models import Organization

from .models import Member, Role


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


def _user_snapshot(member: Member) -> dict[str, Any]:
    """What the audit log keeps of a user before/after a change."""
    return {
        "displayName": member.display_name,
        "roles": list(member.roles or []),
        "metadata": member.metadata,
        "bannedAt": member.banned_at.isoformat() if member.banned_at else None,
        "banExpiresAt": member.ban_expires_at.isoformat() if member.ban_expires_at else None,
    }


def _locked(member: Member) -> Member:
    return Member.objects.select_for_update().get(pk=member.pk)


@transaction.atomic
def member_update(
    *,
    actor: Actor,
    member: Member,
    display_name: str | None = None,
    roles: Sequence[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Member:
    """Change a user's displayName, roles (replaced) and/or metadata (replaced).

    Every role must be an existing Role of the organization, else 400
    ``invalid_parameter`` on ``roles`` naming the unknown ones.
    """
    member = _locked(member)
    before = _user_snapshot(member)
    fields: list[str] = []
    if display_name is not None:
        member.display_name = display_name
        fields.append("display_name")
    if roles is not None:
        wanted = list(dict.fromkeys(roles))
        known = set(
            Role.objects.filter(
                organization_id=member.organization_id, role_id__in=wanted
            ).values_list("role_id", flat=True)
        )
        unknown = [r for r in wanted if r not in known]
        if unknown:
            raise DomainError(
                "invalid_parameter", f"roles: unknown roles {unknown!r}.", field="roles"
            )
        member.roles = wanted
        fields.append("roles")
    if metadata is not None:
        member.metadata = metadata
        fields.append("metadata")
    member.save(update_fields=[*fields, "updated_at"])
    audit_record(
        organization=member.organization,
        actor=actor,
        action="user.update",
        target_type="user",
        target_id=member.user_id,
        before=before,
        after=_user_snapshot(member),
    )
    return member


@transaction.atomic
def member_ban(*, actor: Actor, member: Member, reason: str = "") -> Member:
    """Ban the user from the whole organization until unbanned (``check_can_post``
    refuses them everywhere). Banning a banned user renews the ban (and the audit)."""
    member = _locked(member)
    before = _user_snapshot(member)
    member.banned_at = timezone.now()
    member.ban_expires_at = None
    member.ban_reason = reason
    member.save(update_fields=["banned_at", "ban_expires_at", "ban_reason", "updated_at"])
    audit_record(
        organization=member.organization,
        actor=actor,
        action="user.ban",
        target_type="user",
        target_id=member.user_id,
        reason=reason,
        before=before,
        after=_user_snapshot(member),
    )
    return member


@transaction.atomic
def member_unban(*, actor: Actor, member: Member, reason: str = "") -> Member:
    """Lift a global ban. Unbanning a user who is not banned is a no-op that is still
    audited (the caller asked for it)."""
    member = _locked(member)
    before = _user_snapshot(member)
    member.banned_at = None
    member.ban_expires_at = None
    member.ban_reason = ""
    member.save(update_fields=["banned_at", "ban_expires_at", "ban_reason", "updated_at"])
    audit_record(
        organization=member.organization,
        actor=actor,
        action="user.unban",
        target_type="user",
        target_id=member.user_id,
        reason=reason,
        before=before,
        after=_user_snapshot(member),
    )
    return member


@transaction.atomic
def member_flags_clear(*, actor: Actor, member: Member) -> int:
    """Dismiss every open report on the user; returns how many were dismissed."""
    now = timezone.now()
    cleared = Report.objects.filter(
        organization_id=member.organization_id,
        target_member=member,
        state=Report.State.OPEN,
    ).update(
        state=Report.State.DISMISSED,
        resolved_at=now,
        resolved_by_label=actor.label[:255],
    )
    audit_record(
        organization=member.organization,
        actor=actor,
        action="user.flags.clear",
        target_type="user",
        target_id=member.user_id,
        before={"flagCount": cleared},
        after={"flagCount": 0, "cleared": cleared},
    )
    return cleared


@transaction.atomic
def roles_upsert(
    *,
    organization: Organization,
    actor: Actor,
    role_ids: Sequence[str],
    permissions: Sequence[str],
) -> list[Role]:
    """Add the roles; a role that exists already gets ``permissions`` (replaced).

    Returns the roles in the order given.
    """
    wanted = list(dict.fromkeys(role_ids))
    perms = list(dict.fromkeys(permissions))
    Role.objects.bulk_create(
        [Role(organization=organization, role_id=rid, permissions=perms) for rid in wanted],
        ignore_conflicts=True,  # existing (or concurrently created) roles are updated below
    )
    rows = {
        r.role_id: r
        for r in Role.objects.select_for_update().filter(
            organization=organization, role_id__in=wanted
        )
    }
    before = {rid: r.permissions for rid, r in rows.items() if r.permissions != perms}
    changed = [r for r in rows.values() if r.permissions != perms]
    for role in changed:
        role.permissions = perms
    if changed:
        Role.objects.bulk_update(changed, ["permissions"])
    audit_record(
        organization=organization,
        actor=actor,
        action="role.upsert",
        target_type="role",
        target_id=",".join(wanted),
        before=before or None,
        after={"roles": wanted, "permissions": perms},
    )
    return [rows[rid] for rid in wanted]
