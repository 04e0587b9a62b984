"""Writes on members (chat users) and roles."""

from __future__ import annotations

import copy
import logging
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.audit.services import audit_record, check_reason
from apps.core.errors import DomainError
from apps.core.sweeps import iso, sweep_expired
from apps.events.models import EventType
from apps.events.services import event_record
from apps.members.models import Member, MemberSession, Role
from apps.organizations.models import Organization, hash_token
from apps.reports.models import Report

logger = logging.getLogger(__name__)

#: banPeriod: absent or -1 bans until unbanned, > 0 bans for that many milliseconds.
BAN_FOREVER = -1
#: The longest timed ban accepted: ten years in milliseconds (the same bound as mutes).
MAX_BAN_PERIOD_MS = 10 * 365 * 24 * 3600 * 1000


def ban_window(
    *, ban_period: int | None, now: datetime, field: str = "banPeriod"
) -> tuple[datetime, datetime | None]:
    """(banned_at, ban_expires_at) for a banPeriod in ms: None or -1 until unbanned, > 0 for
    that long (at most MAX_BAN_PERIOD_MS); 0 and other negatives are 400 invalid_parameter."""
    if ban_period is None or ban_period == BAN_FOREVER:
        return now, None
    if ban_period <= 0 or ban_period > MAX_BAN_PERIOD_MS:
        raise DomainError(
            "invalid_parameter",
            f"{field} must be -1 or between 1 and {MAX_BAN_PERIOD_MS} milliseconds.",
            field=field,
        )
    return now, now + timedelta(milliseconds=ban_period)


def _event(member: Member, type: str, actor: Actor | None, **extra: Any) -> None:
    event_record(
        organization=member.organization,
        type=type,
        payload={
            "organization": member.organization.slug,
            "userIds": [member.user_id],
            "actor": (actor or Actor.system()).label,
            **extra,
        },
    )


@transaction.atomic(savepoint=False)  # each row with its event, even in autocommit
def members_provision(
    *, organization: Organization, rows: Sequence[Member], actor: Actor | None = None
) -> list[Member]:
    """Insert these new members of ``organization``; returns the ones this call inserted,
    each with its ``user.created`` event (in the caller's transaction).

    The one way a member is provisioned (every surface and command goes through it). A
    row whose ``user_id`` or ``account`` is taken is left out, without an event: either
    it existed before, or a concurrent transaction inserted it after the caller's read
    found nothing, and that transaction emits the event. The INSERT decides, not the
    read, so whatever the interleaving there is one row and one event. The caller reads
    the left-out rows back if it needs them.

    One INSERT of every row in a savepoint; when it conflicts (the rare race), each row
    in its own savepoint, so the others still go in. On PostgreSQL an INSERT that meets
    a concurrent transaction's uncommitted row waits for it: its commit makes this one
    conflict, its rollback lets this one in.
    """
    if not rows:
        return []

    def fresh(row: Member) -> Member:  # a failed batch may have set pks on what it was given
        new = copy.copy(row)
        new.organization = organization
        return new

    try:
        with transaction.atomic():
            inserted = Member.objects.bulk_create([fresh(row) for row in rows])
    except IntegrityError:
        inserted = []
        for row in rows:
            try:
                with transaction.atomic():
                    inserted.append(Member.objects.bulk_create([fresh(row)])[0])
            except IntegrityError:
                continue  # taken (by a concurrent transaction): not ours, no event
    for member in inserted:
        _event(member, EventType.USER_CREATED, actor, createdAt=iso(member.created_at))
    return inserted


def members_resolve(
    *, organization: Organization, user_ids: Sequence[str], actor: Actor | None = None
) -> list[Member]:
    """The members with these userIds, in the given order; unknown ones are provisioned
    (as a client SDK's first login would do; a ``user.created`` event each, in the
    caller's transaction, only for the ones this call inserted). See docs/api.md."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return []
    existing = {
        m.user_id: m for m in Member.objects.filter(organization=organization, user_id__in=wanted)
    }
    missing = [uid for uid in wanted if uid not in existing]
    if missing:
        created = members_provision(
            organization=organization,
            rows=[
                Member(organization=organization, user_id=uid, display_name=uid) for uid in missing
            ],
            actor=actor,
        )
        existing.update((m.user_id, m) for m in created)
        late = [uid for uid in missing if uid not in existing]
        if late:  # provisioned by a concurrent transaction after our read
            existing.update(
                (m.user_id, m)
                for m in Member.objects.filter(organization=organization, user_id__in=late)
            )
    return [existing[uid] for uid in wanted]


class AccountMember(NamedTuple):
    """An account's Member in an organization, and whether this call created it."""

    member: Member
    created: bool


#: How many userIds an account's new Member may try: the email, then ``email#1``...
_ACCOUNT_USER_ID_ATTEMPTS = 5


def member_get_or_create_for_account(
    *,
    organization: Organization,
    account: Account,
    actor: Actor,
    role: str,
    set_role: bool = False,
    claim_user_id: bool = False,
) -> AccountMember:
    """The account's Member in the organization (the one account -> member link of every
    surface: a token acting as a chat participant, the management commands).

    - The Member linked to the account, if any. With ``set_role``, its org role becomes
      ``role`` (audited as ``user.org_role``, before/after); else it is left as it is.
    - Else, with ``claim_user_id`` (an operator naming the account by email), the user
      whose userId is the email is linked to the account (audited as ``user.link``; with
      ``set_role`` it gets ``role`` too); one linked to another account is 409
      ``conflict``.
    - Else a new Member with org role ``role`` (each caller says which), userId the email,
      or ``email#1``... while another user has it (without ``claim_user_id``); its
      ``user.created`` event names ``actor`` (``members_provision``). A concurrent
      provisioning of the same account is found, not duplicated.

    ``role``: one of ``Member.OrgRole`` (else 400 ``invalid_parameter``). Finding the
    linked member is one query and no transaction (it runs on reads, e.g. a channel
    query filtered by the admin's membership); each write is atomic with its audit entry.
    """
    if role not in Member.OrgRole.values:
        raise DomainError(
            "invalid_parameter",
            f"role: must be one of {', '.join(Member.OrgRole.values)}.",
            field="role",
        )
    base = account.email
    for attempt in range(_ACCOUNT_USER_ID_ATTEMPTS):
        member = Member.objects.filter(organization=organization, account=account).first()
        if member is None and claim_user_id:
            member = _member_claim(organization=organization, account=account, actor=actor)
        if member is not None:  # linked before, or by a concurrent provisioning
            if set_role and member.org_role != role:
                member = _member_org_role_set(member=member, actor=actor, role=role)
            return AccountMember(member, False)
        # With claim_user_id a userId taken meanwhile is claimed on the next turn.
        user_id = base if attempt == 0 or claim_user_id else f"{base}#{attempt}"
        created = members_provision(
            organization=organization,
            rows=[
                Member(
                    organization=organization,
                    account=account,
                    user_id=user_id,
                    display_name=account.get_full_name() or account.email,
                    org_role=role,
                )
            ],
            actor=actor,
        )
        if created:
            return AccountMember(created[0], True)
    raise DomainError("conflict", f"Could not create a user for {account.email!r}; retry.")


@transaction.atomic
def _member_claim(*, organization: Organization, account: Account, actor: Actor) -> Member | None:
    """The user whose userId is the account's email, linked to the account now (audited
    as ``user.link``); None when there is none."""
    member = (
        Member.objects.select_for_update()
        .filter(organization=organization, user_id=account.email)
        .first()
    )
    if member is None or member.account_id == account.pk:
        return member
    if member.account_id is not None:
        raise DomainError(
            "conflict",
            f"The user {account.email!r} of {organization.slug} belongs to another account.",
            field="userId",
        )
    member.account = account
    member.save(update_fields=["account", "updated_at"])
    audit_record(
        organization=organization,
        actor=actor,
        action="user.link",
        target_type="user",
        target_id=member.user_id,
        before={"account": None},
        after={"account": account.email},
    )
    return member


@transaction.atomic
def _member_org_role_set(*, member: Member, actor: Actor, role: str) -> Member:
    """Change the member's org role (admin, member, guest, external); audited as
    ``user.org_role``."""
    member = _locked(member)
    if member.org_role == role:
        return member
    before = {"orgRole": member.org_role}
    member.org_role = role
    member.save(update_fields=["org_role", "updated_at"])
    audit_record(
        organization=member.organization,
        actor=actor,
        action="user.org_role",
        target_type="user",
        target_id=member.user_id,
        before=before,
        after={"orgRole": role},
    )
    return member


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
    _event(member, EventType.USER_UPDATED, actor, fields=sorted(fields))
    return member


@transaction.atomic
def member_ban(
    *, actor: Actor, member: Member, reason: str = "", ban_period: int | None = None
) -> Member:
    """Ban the user from the whole organization (``check_can_post`` refuses them
    everywhere): until unbanned (``ban_period`` None or -1) or for ``ban_period`` ms; an
    expired ban no longer counts at once and the sweep clears it. Banning a banned user
    renews the ban (and the audit)."""
    reason = check_reason(reason)
    banned_at, expires_at = ban_window(ban_period=ban_period, now=timezone.now())
    member = _locked(member)
    before = _user_snapshot(member)
    member.banned_at = banned_at
    member.ban_expires_at = expires_at
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
        after={**_user_snapshot(member), "banPeriod": ban_period or BAN_FOREVER},
    )
    _event(
        member,
        EventType.USER_BANNED,
        actor,
        reason=reason,
        bannedAt=iso(banned_at),
        banExpiresAt=iso(expires_at),
    )
    return member


@transaction.atomic
def member_unban(*, actor: Actor, member: Member, reason: str = "") -> Member:
    """Lift a global ban. Unbanning a user who is not banned is a no-op that is still
    audited (the caller asked for it)."""
    reason = check_reason(reason)
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
    _event(member, EventType.USER_UNBANNED, actor, reason=reason)
    return member


def member_bans_expire(*, batch_size: int | None = None) -> int:
    """Make expired global bans final (clear the columns), in batches claimed with
    ``select_for_update(skip_locked=True)``; each lifted ban gets an audit entry
    ``user.unban.expired`` by the system actor and a ``user.unbanned`` event.

    Idempotent: the UPDATE of each claimed row repeats the expiry condition, so a ban
    lifted by a concurrent run (or renewed by an admin meanwhile) is left alone and
    audited once. Scans the ``member_ban_expiry`` partial index, not recent activity.
    Returns how many bans were lifted.
    """
    system = Actor.system()

    def lift(member: Member) -> None:
        before = _user_snapshot(member)
        audit_record(
            organization=member.organization,
            actor=system,
            action="user.unban.expired",
            target_type="user",
            target_id=member.user_id,
            reason=member.ban_reason,
            before=before,
            after={**before, "bannedAt": None, "banExpiresAt": None},
        )
        _event(
            member,
            EventType.USER_UNBANNED,
            system,
            reason="expired",
            bannedAt=iso(member.banned_at),
            expiredAt=iso(member.ban_expires_at),
        )

    lifted = sweep_expired(
        queryset=Member.objects.select_related("organization"),
        since="banned_at",
        until="ban_expires_at",
        clear={"banned_at": None, "ban_expires_at": None, "ban_reason": ""},
        lift=lift,
        batch_size=batch_size,
    )
    if lifted:
        logger.info("lifted %s expired global bans", lifted)
    return lifted


@transaction.atomic
def member_flags_clear(*, actor: Actor, member: Member) -> int:
    """Dismiss every open report on the user; returns how many were dismissed.
    The rule lives in apps.reports.services (one place for every surface)."""
    from apps.reports.services import reports_resolve_for_member

    return reports_resolve_for_member(actor=actor, member=member, state=Report.State.DISMISSED)


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


# --- messaging API sessions -------------------------------------------------------------


class IssuedSession(NamedTuple):
    """A new session: ``token`` is shown once and never stored."""

    session: MemberSession
    token: str


#: Session tokens: a fixed prefix (recognisable in logs and secret scanners) and 32
#: random bytes (256 bits), URL-safe.
SESSION_TOKEN_PREFIX = "cas_"


def _session_ttl(ttl: int | None) -> int:
    limits = settings.CHATADMIN
    if ttl is None:
        return int(limits["SESSION_TTL_SECONDS"])
    longest = int(limits["SESSION_MAX_TTL_SECONDS"])
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= longest:
        raise DomainError(
            "invalid_parameter",
            f"ttl must be a whole number of seconds from 1 to {longest}.",
            field="ttl",
        )
    return ttl


@transaction.atomic
def member_session_issue(*, actor: Actor, member: Member, ttl: int | None = None) -> IssuedSession:
    """A session token acting as ``member`` (messaging API), valid for ``ttl`` seconds
    (default ``CHATADMIN_SESSION_TTL_SECONDS``). Audited as ``session.issue``; the audit
    entry names the token's prefix, never the token."""
    seconds = _session_ttl(ttl)
    if member.is_inactive:
        raise DomainError("forbidden", f"User {member.user_id!r} is deactivated.")
    raw = SESSION_TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    session = MemberSession.objects.create(
        organization_id=member.organization_id,
        member=member,
        prefix=raw[:12],
        token_hash=hash_token(raw),
        expires_at=now + timedelta(seconds=seconds),
    )
    audit_record(
        organization=member.organization,
        actor=actor,
        action="session.issue",
        target_type="user",
        target_id=member.user_id,
        after={"prefix": session.prefix, "expiresAt": iso(session.expires_at)},
    )
    return IssuedSession(session=session, token=raw)


@transaction.atomic
def member_session_issue_for_user_id(
    *, organization: Organization, actor: Actor, user_id: str, ttl: int | None = None
) -> IssuedSession:
    """A session of the member ``user_id`` of ``organization``, provisioned first if the
    organization has no such member (as the v2 channel endpoints do, ``members_resolve``).
    A bad ``ttl`` is refused before anything is written, so it provisions no one."""
    seconds = _session_ttl(ttl)
    [member] = members_resolve(organization=organization, user_ids=[user_id], actor=actor)
    return member_session_issue(actor=actor, member=member, ttl=seconds)


@transaction.atomic
def member_sessions_revoke(*, actor: Actor, member: Member) -> int:
    """Revoke every live session of ``member`` (they fail on the very next request).
    Returns how many were revoked; audited as ``session.revoke`` when there were any."""
    revoked = MemberSession.objects.filter(member=member, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        audit_record(
            organization=member.organization,
            actor=actor,
            action="session.revoke",
            target_type="user",
            target_id=member.user_id,
            after={"revoked": revoked},
        )
    return revoked


# --- member states: deactivated, removed ------------------------------------------------


def _check_not_last_admin(member: Member) -> None:
    """409 ``last_admin`` when ``member`` is the organization's last active admin (bots
    do not count: nobody can administer through them). The admins' rows are locked, so
    two concurrent requests cannot each take away one of the last two."""
    if member.org_role != Member.OrgRole.ADMIN or member.is_inactive:
        return
    admins = list(
        Member.objects.select_for_update()
        .filter(
            organization_id=member.organization_id,
            org_role=Member.OrgRole.ADMIN,
            deactivated_at__isnull=True,
            removed_at__isnull=True,
            is_bot=False,
        )
        .values_list("pk", flat=True)
    )
    if not [pk for pk in admins if pk != member.pk]:
        raise DomainError(
            "last_admin",
            f"User {member.user_id!r} is the organization's last active admin.",
        )


def _state_snapshot(member: Member) -> dict[str, Any]:
    return {"deactivatedAt": iso(member.deactivated_at), "removedAt": iso(member.removed_at)}


def _state_set(
    *, actor: Actor, member: Member, action: str, fields: dict[str, datetime | None]
) -> Member:
    """Write the state columns, audit ``action`` with before/after, emit ``user.updated``
    naming the changed fields; the member's sessions end when it can no longer act."""
    before = _state_snapshot(member)
    for name, value in fields.items():
        setattr(member, name, value)
    member.save(update_fields=[*fields, "updated_at"])
    after = _state_snapshot(member)
    audit_record(
        organization=member.organization,
        actor=actor,
        action=action,
        target_type="user",
        target_id=member.user_id,
        before=before,
        after=after,
    )
    changed = sorted(
        {"deactivated_at": "deactivatedAt", "removed_at": "removedAt"}[name] for name in fields
    )
    _event(member, EventType.USER_UPDATED, actor, fields=changed, **after)
    if member.is_inactive:
        member_sessions_revoke(actor=actor, member=member)
    return member


@transaction.atomic
def member_deactivate(*, actor: Actor, member: Member) -> Member:
    """Deactivate the member (Stackfield's ``DeactivateUser``): it keeps its history and
    memberships, its posts are refused (403 ``user_deactivated``) and its sessions end
    now. Audited ``user.deactivate``, event ``user.updated``.

    A removed member is 404 ``user_not_found``; one already deactivated 409
    ``user_already_deactivated``; the last active admin 409 ``last_admin``."""
    member = _locked(member)
    if member.removed_at is not None:
        raise DomainError("user_not_found", f"User {member.user_id!r} was removed.")
    if member.deactivated_at is not None:
        raise DomainError(
            "user_already_deactivated", f"User {member.user_id!r} is already deactivated."
        )
    _check_not_last_admin(member)
    return _state_set(
        actor=actor,
        member=member,
        action="user.deactivate",
        fields={"deactivated_at": timezone.now()},
    )


@transaction.atomic
def member_remove(*, actor: Actor, member: Member) -> Member:
    """Remove the member from the organization (Stackfield's ``RemoveUser``): as a
    deactivated member it keeps its history (its messages, and its channel rows, so the
    history still shows where it was) and can no longer act; it is no longer found by
    email, and :func:`member_restore` brings it back. Audited ``user.remove``, event
    ``user.updated``.

    One already removed is 404 ``user_not_found``; the last active admin 409
    ``last_admin``. A deactivated member may be removed."""
    member = _locked(member)
    if member.removed_at is not None:
        raise DomainError("user_not_found", f"User {member.user_id!r} was removed.")
    _check_not_last_admin(member)
    return _state_set(
        actor=actor, member=member, action="user.remove", fields={"removed_at": timezone.now()}
    )


@transaction.atomic
def member_restore(*, actor: Actor, member: Member) -> Member:
    """Bring back a removed member (Stackfield's ``CreateUser`` of its email): active
    again (no longer removed nor deactivated), with the history it had. Audited
    ``user.restore``, event ``user.updated``; a member that was not removed is left as it
    is (nothing written)."""
    member = _locked(member)
    if member.removed_at is None:
        return member
    return _state_set(
        actor=actor,
        member=member,
        action="user.restore",
        fields={"removed_at": None, "deactivated_at": None},
    )
