"""Writes on blacklist and whitelist records (the content filter's rules).

Every write: validates every pattern first (nothing is written if one is bad), locks
the organization row (so concurrent writers of one organization queue up and the
per-organization cap holds), writes, bumps ``Organization.filter_version`` with an
F() update (every process's cached matcher rebuilds on its next check) and records an
audit entry, all in one transaction. A request that changes nothing writes nothing.

Adding is idempotent: a pattern that already exists is returned unchanged (its
``isMatchExactWord`` too; use update to change it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Model
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.services import audit_record, audit_record_many
from apps.channels.models import Channel, Membership
from apps.channels.selectors.channels import channel_current_member_count
from apps.channels.services.channels import channel_event_record, channel_lock_for_write
from apps.core.errors import DomainError, quoted
from apps.core.sweeps import iso, timed_active
from apps.events.models import EventType
from apps.events.services import event_record
from apps.members.models import Member
from apps.moderation.filter.cache import forget_version
from apps.moderation.filter.patterns import canonical_whitelist_pattern, validate_blacklist_pattern
from apps.moderation.models import BlacklistRecord, FilterRefusalDay, WhitelistRecord
from apps.moderation.selectors import blacklist_records_find, whitelist_records_find
from apps.organizations.models import Organization

#: Most patterns (or ruleIds) one request may carry.
MAX_PATTERNS_PER_REQUEST = 1000


def max_records() -> int:
    """Records of each kind one organization may hold (CHATADMIN_MAX_FILTER_RECORDS)."""
    return int(settings.CHATADMIN.get("MAX_FILTER_RECORDS", 100_000))


@dataclass
class RecordsAdded[T: Model]:
    """The records named by an add request, in request order; ``created`` counts new ones."""

    records: list[T]
    created: int


def _lock_and_bump(organization: Organization) -> None:
    # The UPDATE takes the organization row's lock until commit: concurrent record
    # writers of one organization queue here (the cap and duplicate checks hold), and
    # every process's matcher is stale as soon as this commits.
    Organization.objects.filter(pk=organization.pk).update(filter_version=F("filter_version") + 1)
    forget_version(organization.pk)  # this process sees the change at once


def _check_count(values: Sequence[Any], field: str) -> None:
    if len(values) > MAX_PATTERNS_PER_REQUEST:
        raise DomainError(
            "invalid_parameter",
            f"{field}: at most {MAX_PATTERNS_PER_REQUEST} items per request.",
            field=field,
        )
    if not values:
        raise DomainError("missing_parameter", f"{field}: give at least one.", field=field)


def _check_same_organization(organization: Organization, record: Model) -> None:
    if record.organization_id != organization.pk:
        raise ValueError(f"{record!r} belongs to another organization")


def _audit_target(patterns: Sequence[str]) -> str:
    return patterns[0] if len(patterns) == 1 else f"{len(patterns)} records"


def _add(
    model: type[Model],
    kind: str,
    *,
    organization: Organization,
    actor: Actor,
    patterns: Sequence[str],
    normalize: Callable[[str], str],
    extra: dict[str, Any],
) -> RecordsAdded:
    _check_count(patterns, "regexs")
    wanted = list(dict.fromkeys(normalize(p) for p in patterns))
    _lock_and_bump(organization)
    existing = {
        r.pattern: r for r in model.objects.filter(organization=organization, pattern__in=wanted)
    }
    new = [p for p in wanted if p not in existing]
    if not new:
        transaction.set_rollback(True)  # nothing changed: undo the version bump
        return RecordsAdded(records=[existing[p] for p in wanted], created=0)
    count = model.objects.filter(organization=organization).count()
    if count + len(new) > max_records():
        raise DomainError(
            "too_many_records",
            f"The organization has {count} {kind} records; at most {max_records()} are "
            f"allowed, so {len(new)} more cannot be added.",
            field="regexs",
        )
    created = model.objects.bulk_create(
        [model(organization=organization, pattern=p, **extra) for p in new]
    )
    by_pattern = {**existing, **{r.pattern: r for r in created}}
    audit_record(
        organization=organization,
        actor=actor,
        action=f"{kind}.add",
        target_type=f"{kind}_record",
        target_id=_audit_target(new),
        after={"patterns": new, **_camel(extra)},
    )
    return RecordsAdded(records=[by_pattern[p] for p in wanted], created=len(new))


def _camel(extra: dict[str, Any]) -> dict[str, Any]:
    return {"isMatchExactWord": extra["is_match_exact_word"]} if extra else {}


def _describe(record: Model) -> dict[str, Any]:
    """A record as the audit log keeps it."""
    if isinstance(record, BlacklistRecord):
        return {"pattern": record.pattern, "isMatchExactWord": record.is_match_exact_word}
    return {"pattern": record.pattern}


def _delete(
    kind: str,
    find: Callable[..., dict[str, Any]],
    *,
    organization: Organization,
    actor: Actor,
    rule_ids: Sequence[str],
) -> int:
    _check_count(rule_ids, "ruleIds")
    _lock_and_bump(organization)
    found = find(organization=organization, rule_ids=list(dict.fromkeys(rule_ids)))
    records = list({r.pk: r for r in found.values()}.values())
    before = [_describe(r) for r in records]
    type(records[0]).objects.filter(pk__in=[r.pk for r in records]).delete()
    audit_record(
        organization=organization,
        actor=actor,
        action=f"{kind}.delete",
        target_type=f"{kind}_record",
        target_id=_audit_target([r.pattern for r in records]),
        before={"records": before},
    )
    return len(records)


# --- Blacklist ------------------------------------------------------------------------


@transaction.atomic
def blacklist_records_add(
    *,
    organization: Organization,
    actor: Actor,
    patterns: Sequence[str],
    is_match_exact_word: bool = False,
) -> RecordsAdded[BlacklistRecord]:
    """Add words or RE2 patterns; existing ones are returned unchanged."""
    return _add(
        BlacklistRecord,
        "blacklist",
        organization=organization,
        actor=actor,
        patterns=patterns,
        normalize=lambda p: validate_blacklist_pattern(p, field_name="regexs"),
        extra={"is_match_exact_word": bool(is_match_exact_word)},
    )


@transaction.atomic
def blacklist_records_delete(
    *, organization: Organization, actor: Actor, rule_ids: Sequence[str]
) -> int:
    """Delete the records; if any ruleId is unknown, 404 rule_not_found and none is deleted."""
    return _delete(
        "blacklist",
        blacklist_records_find,
        organization=organization,
        actor=actor,
        rule_ids=rule_ids,
    )


def _locked_record[T: Model](record: T) -> T:
    """The record (as the surface loaded it) re-read under a lock, after the organization
    row's: 404 ``rule_not_found`` if a concurrent request deleted it meanwhile."""
    locked = type(record).objects.select_for_update().filter(pk=record.pk).first()
    if locked is None:
        raise DomainError(
            "rule_not_found", f"No record with ruleId {quoted(record.pattern)}.", field="ruleId"
        )
    return locked


@transaction.atomic
def blacklist_records_update(
    *,
    organization: Organization,
    actor: Actor,
    record: BlacklistRecord,
    new_pattern: str | None = None,
    is_match_exact_word: bool | None = None,
) -> BlacklistRecord:
    """Change a record's pattern and/or ``isMatchExactWord`` (None: keep); ``record`` as
    the surface loaded it (``blacklist_record_get``)."""
    _check_same_organization(organization, record)
    pattern = (
        validate_blacklist_pattern(new_pattern, field_name="ruleId")
        if new_pattern is not None
        else None
    )
    _lock_and_bump(organization)
    record = _locked_record(record)
    before = _describe(record)
    changed: list[str] = []
    if pattern is not None and pattern != record.pattern:
        if BlacklistRecord.objects.filter(organization=organization, pattern=pattern).exists():
            raise DomainError(
                "rule_exists",
                f"A record with ruleId {quoted(pattern)} already exists.",
                field="ruleId",
            )
        record.pattern = pattern
        changed.append("pattern")
    if is_match_exact_word is not None and is_match_exact_word != record.is_match_exact_word:
        record.is_match_exact_word = is_match_exact_word
        changed.append("is_match_exact_word")
    if not changed:
        transaction.set_rollback(True)  # nothing changed: undo the version bump
        return record
    record.save(update_fields=[*changed, "updated_at"])
    audit_record(
        organization=organization,
        actor=actor,
        action="blacklist.update",
        target_type="blacklist_record",
        target_id=record.pattern,
        before=before,
        after=_describe(record),
    )
    return record


# --- Whitelist ------------------------------------------------------------------------


@transaction.atomic
def whitelist_records_add(
    *, organization: Organization, actor: Actor, patterns: Sequence[str]
) -> RecordsAdded[WhitelistRecord]:
    """Add URLs (stored as ``host[/path]``); existing ones are returned unchanged."""
    return _add(
        WhitelistRecord,
        "whitelist",
        organization=organization,
        actor=actor,
        patterns=patterns,
        normalize=lambda p: canonical_whitelist_pattern(p, field_name="regexs"),
        extra={},
    )


@transaction.atomic
def whitelist_records_delete(
    *, organization: Organization, actor: Actor, rule_ids: Sequence[str]
) -> int:
    """Delete the records; if any ruleId is unknown, 404 rule_not_found and none is deleted."""
    return _delete(
        "whitelist",
        whitelist_records_find,
        organization=organization,
        actor=actor,
        rule_ids=rule_ids,
    )


@transaction.atomic
def whitelist_records_update(
    *, organization: Organization, actor: Actor, record: WhitelistRecord, new_pattern: str
) -> WhitelistRecord:
    """Change a record's URL; ``record`` as the surface loaded it
    (``whitelist_record_get``)."""
    _check_same_organization(organization, record)
    pattern = canonical_whitelist_pattern(new_pattern, field_name="ruleId")
    _lock_and_bump(organization)
    record = _locked_record(record)
    if pattern == record.pattern:
        transaction.set_rollback(True)  # nothing changed: undo the version bump
        return record
    if WhitelistRecord.objects.filter(organization=organization, pattern=pattern).exists():
        raise DomainError(
            "rule_exists", f"A record with ruleId {quoted(pattern)} already exists.", field="ruleId"
        )
    before = {"pattern": record.pattern}
    record.pattern = pattern
    record.save(update_fields=["pattern", "updated_at"])
    audit_record(
        organization=organization,
        actor=actor,
        action="whitelist.update",
        target_type="whitelist_record",
        target_id=record.pattern,
        before=before,
        after={"pattern": record.pattern},
    )
    return record


#: The refusal codes of the content filter and the counter each one bumps.
REFUSAL_COUNTERS = {"blacklisted_content": "blacklisted", "url_not_whitelisted": "not_whitelisted"}


def filter_refusal_count(*, organization: Organization, code: str) -> None:
    """Count one message refused by the content filter today (an upsert; safe under
    concurrency). Call it outside the refused write's transaction, which rolls back."""
    field = REFUSAL_COUNTERS.get(code)
    if field is None:
        return
    day = timezone.now().date()
    bump = {field: F(field) + 1}
    if FilterRefusalDay.objects.filter(organization=organization, day=day).update(**bump):
        return
    try:
        with transaction.atomic():
            FilterRefusalDay.objects.create(organization=organization, day=day, **{field: 1})
    except IntegrityError:  # created by a concurrent refusal: add to it
        FilterRefusalDay.objects.filter(organization=organization, day=day).update(**bump)


# --- Undo: restoring what a console action changed (apps/console/undo.py) --------------
#
# Each ``*_restore`` puts rows back to the values they held before an action, but only
# if they still hold exactly what that action left (``expected``): anything else means
# someone changed them since (unmuted and muted again, a sweep made a ban final...), and
# nothing is written (409 ``conflict``). Each is audited as "<the action>.undo", with the
# undone audit entry's id as ``undoes`` in ``after``. States are ``{field: value}`` over
# the fields below (datetimes as datetimes).

#: The fields a mute (of a channel, or of members in a channel) is made of.
MUTE_FIELDS = ("muted_at", "mute_expires_at")
#: The fields of a global ban (``Member``).
BAN_FIELDS = ("banned_at", "ban_expires_at", "ban_reason")
#: The fields of a channel ban (``Membership``): a ban also takes the member out.
CHANNEL_BAN_FIELDS = (*BAN_FIELDS, "joined_at")


def state_of(row: Model, fields: Sequence[str]) -> dict[str, Any]:
    """The values of ``fields`` on ``row`` (what an undo saves and later compares)."""
    return {field: getattr(row, field) for field in fields}


def state_dump(row: Model, fields: Sequence[str]) -> dict[str, Any]:
    """:func:`state_of` as JSON (times in ISO 8601): what an undo token (the console) or
    a bulk job's record carries until the undo; :func:`state_load` reads it back."""
    return {
        k: v.isoformat() if isinstance(v, datetime) else v for k, v in state_of(row, fields).items()
    }


def state_load(state: Mapping[str, Any]) -> dict[str, Any]:
    """A state of :func:`state_dump` back: the ``*_at`` fields as datetimes."""
    return {
        k: datetime.fromisoformat(v) if k.endswith("_at") and isinstance(v, str) else v
        for k, v in state.items()
    }


def stamps_load(part: Mapping[str, str | None]) -> dict[str, datetime | None]:
    """Messages' stamps as dumped (messageId -> ISO time or None) back to datetimes."""
    return {key: datetime.fromisoformat(v) if v else None for key, v in part.items()}


def _state_json(state: Mapping[str, Any]) -> dict[str, Any]:
    """A state as the audit log keeps it (camelCase keys, ISO times)."""
    return {
        _camel_key(key): value.isoformat() if isinstance(value, datetime) else value
        for key, value in state.items()
    }


def _camel_key(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _check_unchanged(
    row: Model | None, fields: Sequence[str], expected: Mapping[str, Any], label: str
) -> None:
    if row is None or state_of(row, fields) != {f: expected.get(f) for f in fields}:
        raise DomainError("conflict", f"{label} changed since: nothing was undone.")


def _membership_rows(channel: Channel, user_ids: Sequence[str]) -> dict[str, Membership]:
    rows = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("member")
        .filter(channel=channel, member__user_id__in=list(user_ids))
    )
    return {row.member.user_id: row for row in rows}


def _restore_memberships(
    *,
    channel: Channel,
    fields: Sequence[str],
    expected: Mapping[str, Mapping[str, Any]],
    restore: Mapping[str, Mapping[str, Any]],
    what: str,
) -> None:
    rows = _membership_rows(channel, list(restore))
    for user_id in restore:
        _check_unchanged(rows.get(user_id), fields, expected.get(user_id, {}), f"{what} {user_id}")
    for user_id, state in restore.items():
        Membership.objects.filter(pk=rows[user_id].pk).update(
            **{field: state.get(field) for field in fields}
        )


def _ban_reason(state: Mapping[str, Any]) -> str:
    return state.get("ban_reason") or ""


@transaction.atomic
def channel_users_mute_restore(
    *,
    channel: Channel,
    actor: Actor,
    expected: Mapping[str, Mapping[str, Any]],
    restore: Mapping[str, Mapping[str, Any]],
    undoes: int | None = None,
) -> Channel:
    """Put these users' mutes in the channel back (``restore``: userId -> MUTE_FIELDS)
    if each still is as ``expected``; audited as ``channel.users.mute.undo``."""
    channel = channel_lock_for_write(channel)
    _restore_memberships(
        channel=channel,
        fields=MUTE_FIELDS,
        expected=expected,
        restore=restore,
        what=f"The mute in {channel.channel_id} of",
    )
    user_ids = sorted(restore)
    cid = {"channelId": channel.channel_id}
    audit_record_many(  # each user's history too, as the mute itself is
        organization=channel.organization,
        actor=actor,
        action="user.mute.undo",
        target_type="user",
        target_ids=user_ids,
        before={u: {**cid, **_state_json(expected[u])} for u in user_ids},
        after={u: {**cid, **_state_json(restore[u]), "undoes": undoes} for u in user_ids},
    )
    audit_record(
        organization=channel.organization,
        actor=actor,
        action="channel.users.mute.undo",
        target_type="channel",
        target_id=channel.channel_id,
        before={"mutes": {u: _state_json(expected[u]) for u in user_ids}},
        after={
            "userIds": user_ids,
            "mutes": {u: _state_json(restore[u]) for u in user_ids},
            "undoes": undoes,
        },
    )
    now = timezone.now()
    unmuted = [u for u in user_ids if not timed_active(*_mute_pair(restore[u]), now)]
    if unmuted:
        channel_event_record(channel, EventType.USER_UNMUTED, actor, userIds=unmuted, reason="undo")
    for user_id in user_ids:
        if user_id not in unmuted:
            muted_at, expires_at = _mute_pair(restore[user_id])
            channel_event_record(
                channel,
                EventType.USER_MUTED,
                actor,
                userIds=[user_id],
                reason="undo",
                mutedAt=iso(muted_at),
                muteExpiresAt=iso(expires_at),
            )
    return channel


def _mute_pair(state: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    return state.get("muted_at"), state.get("mute_expires_at")


@transaction.atomic
def channel_mute_restore(
    *,
    channel: Channel,
    actor: Actor,
    expected: Mapping[str, Any],
    restore: Mapping[str, Any],
    undoes: int | None = None,
) -> Channel:
    """Put the channel's own mute back (MUTE_FIELDS) if it still is as ``expected``;
    audited as ``channel.mute.undo``."""
    channel = channel_lock_for_write(channel)
    _check_unchanged(channel, MUTE_FIELDS, expected, f"The mute of channel {channel.channel_id}")
    for field in MUTE_FIELDS:
        setattr(channel, field, restore.get(field))
    channel.save(update_fields=[*MUTE_FIELDS, "updated_at"])
    audit_record(
        organization=channel.organization,
        actor=actor,
        action="channel.mute.undo",
        target_type="channel",
        target_id=channel.channel_id,
        before=_state_json(expected),
        after={**_state_json(restore), "undoes": undoes},
    )
    muted_at, expires_at = _mute_pair(restore)
    if timed_active(muted_at, expires_at, timezone.now()):
        channel_event_record(
            channel,
            EventType.CHANNEL_MUTED,
            actor,
            reason="undo",
            mutedAt=iso(muted_at),
            muteExpiresAt=iso(expires_at),
        )
    else:
        channel_event_record(channel, EventType.CHANNEL_UNMUTED, actor, reason="undo")
    return channel


@transaction.atomic
def channel_users_ban_restore(
    *,
    channel: Channel,
    actor: Actor,
    expected: Mapping[str, Mapping[str, Any]],
    restore: Mapping[str, Mapping[str, Any]],
    undoes: int | None = None,
) -> Channel:
    """Put these users' channel bans back (CHANNEL_BAN_FIELDS: who was a member is a
    member again, from the same moment) if each still is as ``expected``; audited as
    ``channel.users.ban.undo``."""
    channel = channel_lock_for_write(channel)
    _restore_memberships(
        channel=channel,
        fields=CHANNEL_BAN_FIELDS,
        expected=expected,
        restore=restore,
        what=f"The ban from {channel.channel_id} of",
    )
    before_count = channel.member_count
    channel.member_count = channel_current_member_count(channel=channel)
    channel.save(update_fields=["member_count", "updated_at"])
    user_ids = sorted(restore)
    audit_record(
        organization=channel.organization,
        actor=actor,
        action="channel.users.ban.undo",
        target_type="channel",
        target_id=channel.channel_id,
        before={
            "memberCount": before_count,
            "bans": {u: _state_json(expected[u]) for u in user_ids},
        },
        after={
            "memberCount": channel.member_count,
            "userIds": user_ids,
            "bans": {u: _state_json(restore[u]) for u in user_ids},
            "undoes": undoes,
        },
    )
    now = timezone.now()
    unbanned = [
        u
        for u in user_ids
        if not timed_active(restore[u].get("banned_at"), restore[u].get("ban_expires_at"), now)
    ]
    if unbanned:
        channel_event_record(channel, EventType.MEMBER_UNBANNED, actor, userIds=unbanned)
    for user_id in user_ids:
        if user_id not in unbanned:
            state = restore[user_id]
            channel_event_record(
                channel,
                EventType.MEMBER_BANNED,
                actor,
                userIds=[user_id],
                reason=_ban_reason(state),
                bannedAt=iso(state.get("banned_at")),
                banExpiresAt=iso(state.get("ban_expires_at")),
            )
    rejoined = [u for u in user_ids if restore[u].get("joined_at") is not None]
    if rejoined:
        channel_event_record(channel, EventType.MEMBER_JOINED, actor, userIds=rejoined)
    return channel


@transaction.atomic
def member_ban_restore(
    *,
    member: Member,
    actor: Actor,
    expected: Mapping[str, Any],
    restore: Mapping[str, Any],
    undoes: int | None = None,
) -> Member:
    """Put the user's global ban back (BAN_FIELDS: none, or the earlier one) if it still
    is as ``expected``; audited as ``user.ban.undo``."""
    member = Member.objects.select_for_update().get(pk=member.pk)
    _check_unchanged(member, BAN_FIELDS, expected, f"The ban of {member.user_id}")
    member.banned_at = restore.get("banned_at")
    member.ban_expires_at = restore.get("ban_expires_at")
    member.ban_reason = _ban_reason(restore)
    member.save(update_fields=[*BAN_FIELDS, "updated_at"])
    audit_record(
        organization=member.organization,
        actor=actor,
        action="user.ban.undo",
        target_type="user",
        target_id=member.user_id,
        reason=_ban_reason(restore),
        before=_state_json(expected),
        after={**_state_json(restore), "undoes": undoes},
    )
    payload = {"organization": member.organization.slug, "userIds": [member.user_id]}
    if member.is_globally_banned():
        event_record(
            organization=member.organization,
            type=EventType.USER_BANNED,
            payload={
                **payload,
                "actor": actor.label,
                "reason": member.ban_reason,
                "bannedAt": iso(member.banned_at),
                "banExpiresAt": iso(member.ban_expires_at),
            },
        )
    else:
        event_record(
            organization=member.organization,
            type=EventType.USER_UNBANNED,
            payload={**payload, "actor": actor.label, "reason": "undo"},
        )
    return member


#: The restore of the members of a channel, by the console's and the bulk jobs' action.
CHANNEL_USERS_RESTORES = {
    "mute": channel_users_mute_restore,
    "channel_ban": channel_users_ban_restore,
}
