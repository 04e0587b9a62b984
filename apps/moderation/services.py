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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Model
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.core.errors import DomainError
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
            "rule_not_found", f"No record with ruleId {record.pattern!r}.", field="ruleId"
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
                "rule_exists", f"A record with ruleId {pattern!r} already exists.", field="ruleId"
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
            "rule_exists", f"A record with ruleId {pattern!r} already exists.", field="ruleId"
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
