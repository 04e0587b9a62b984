"""Reads on blacklist and whitelist records, always scoped to an organization."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import django_filters
from django.db.models import Model, QuerySet

from apps.core.errors import DomainError
from apps.moderation.filter.patterns import canonical_whitelist_pattern
from apps.moderation.filter.text import normalize_text
from apps.moderation.filters import BlacklistRecordFilterSet, WhitelistRecordFilterSet
from apps.moderation.models import BlacklistRecord, WhitelistRecord
from apps.organizations.models import Organization


def _filtered(
    filterset_class: type[django_filters.FilterSet],
    queryset: QuerySet,
    filters: Mapping[str, Any],
) -> QuerySet:
    filterset = filterset_class(data=dict(filters), queryset=queryset)
    if not filterset.is_valid():
        field, messages = next(iter(filterset.errors.items()))
        raise DomainError("invalid_parameter", f"{field}: {' '.join(messages)}", field=field)
    return filterset.qs


def blacklist_record_query(
    *, organization: Organization, filters: Mapping[str, Any]
) -> QuerySet[BlacklistRecord]:
    """The organization's blacklist records narrowed by ``regexs`` (creation order)."""
    queryset = BlacklistRecord.objects.filter(organization=organization).order_by("pk")
    return _filtered(BlacklistRecordFilterSet, queryset, filters)


def whitelist_record_query(
    *, organization: Organization, filters: Mapping[str, Any]
) -> QuerySet[WhitelistRecord]:
    """The organization's whitelist records narrowed by ``regexs`` (creation order)."""
    queryset = WhitelistRecord.objects.filter(organization=organization).order_by("pk")
    return _filtered(WhitelistRecordFilterSet, queryset, filters)


def blacklist_rule_id_candidates(rule_id: str) -> list[str]:
    """Stored patterns a caller's ruleId may name: as sent, and normalized (NFKC, trimmed)."""
    return list(dict.fromkeys([rule_id, normalize_text(rule_id).strip()]))


def whitelist_rule_id_candidates(rule_id: str) -> list[str]:
    """As sent, trimmed, and in canonical form (``https://www.Example.com/`` names
    ``example.com``)."""
    candidates = [rule_id, rule_id.strip()]
    with contextlib.suppress(DomainError):
        candidates.append(canonical_whitelist_pattern(rule_id))
    return list(dict.fromkeys(candidates))


def _find(
    model: type[Model],
    candidates_of: Callable[[str], list[str]],
    *,
    organization: Organization,
    rule_ids: Sequence[str],
    for_update: bool,
) -> tuple[dict[str, Any], list[str]]:
    """({ruleId: record}, [unknown ruleIds]) in one query."""
    candidates = {rule_id: candidates_of(rule_id) for rule_id in rule_ids}
    wanted = {c for values in candidates.values() for c in values}
    queryset = model.objects.filter(organization=organization, pattern__in=wanted)
    if for_update:
        queryset = queryset.select_for_update()
    by_pattern = {record.pattern: record for record in queryset}
    found: dict[str, Any] = {}
    missing: list[str] = []
    for rule_id, values in candidates.items():
        record = next((by_pattern[v] for v in values if v in by_pattern), None)
        if record is None:
            missing.append(rule_id)
        else:
            found[rule_id] = record
    return found, missing


def _not_found(missing: list[str], field: str) -> DomainError:
    shown = ", ".join(repr(m) for m in missing[:5]) + (" ..." if len(missing) > 5 else "")
    return DomainError("rule_not_found", f"No record with ruleId {shown}.", field=field)


def blacklist_records_find(
    *,
    organization: Organization,
    rule_ids: Sequence[str],
    field: str = "ruleIds",
    for_update: bool = False,
) -> dict[str, BlacklistRecord]:
    """{ruleId: record} for every ruleId, or DomainError(rule_not_found) naming the
    unknown ones. Another organization's ruleId is unknown here."""
    found, missing = _find(
        BlacklistRecord,
        blacklist_rule_id_candidates,
        organization=organization,
        rule_ids=rule_ids,
        for_update=for_update,
    )
    if missing:
        raise _not_found(missing, field)
    return found


def whitelist_records_find(
    *,
    organization: Organization,
    rule_ids: Sequence[str],
    field: str = "ruleIds",
    for_update: bool = False,
) -> dict[str, WhitelistRecord]:
    """{ruleId: record} for every ruleId, or DomainError(rule_not_found)."""
    found, missing = _find(
        WhitelistRecord,
        whitelist_rule_id_candidates,
        organization=organization,
        rule_ids=rule_ids,
        for_update=for_update,
    )
    if missing:
        raise _not_found(missing, field)
    return found


def blacklist_record_get(
    *, organization: Organization, rule_id: str, field: str = "ruleId", for_update: bool = False
) -> BlacklistRecord:
    return blacklist_records_find(
        organization=organization, rule_ids=[rule_id], field=field, for_update=for_update
    )[rule_id]


def whitelist_record_get(
    *, organization: Organization, rule_id: str, field: str = "ruleId", for_update: bool = False
) -> WhitelistRecord:
    return whitelist_records_find(
        organization=organization, rule_ids=[rule_id], field=field, for_update=for_update
    )[rule_id]
