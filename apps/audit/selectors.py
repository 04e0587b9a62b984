"""Reads on the audit log, always scoped to one organization."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from django.db.models import QuerySet

from apps.audit.filters import AuditEntryFilterSet
from apps.audit.models import AuditEntry
from apps.organizations.models import Organization

#: The action select offers the actions of this many most recent entries, so building
#: it costs the same on 1,000 entries as on 10,000,000 (an older, rarer action can
#: still be filtered by ``?action=``).
ACTIONS_WINDOW = 20_000
#: Rows one database round trip of the CSV export fetches.
EXPORT_CHUNK_SIZE = 2_000


def audit_entry_filterset(
    *, organization: Organization, data: Mapping[str, Any] | None
) -> AuditEntryFilterSet:
    """The FilterSet over the organization's entries; ``.qs`` is the filtered queryset
    (always bound; check ``.is_valid()`` first: invalid fields are otherwise ignored)."""
    queryset = AuditEntry.objects.filter(organization=organization)
    return AuditEntryFilterSet(data=dict(data or {}), queryset=queryset)


def audit_actions_present(*, organization: Organization) -> list[str]:
    """The distinct actions of the organization's recent entries, sorted (one query,
    bounded by :data:`ACTIONS_WINDOW`)."""
    recent = (
        AuditEntry.objects.filter(organization=organization)
        .order_by("-created_at", "-pk")
        .values("pk")[:ACTIONS_WINDOW]
    )
    return list(
        AuditEntry.objects.filter(pk__in=recent)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )


EXPORT_COLUMNS = (
    "id",
    "created_at",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "reason",
    "before",
    "after",
)


def audit_entries_for_export(queryset: QuerySet[AuditEntry]) -> Iterator[tuple[Any, ...]]:
    """The rows of a (filtered, organization-scoped) queryset in id order, streamed from
    the database :data:`EXPORT_CHUNK_SIZE` at a time (a server-side cursor on
    PostgreSQL), so a million entries never sit in memory together."""
    return (
        queryset.order_by("pk").values_list(*EXPORT_COLUMNS).iterator(chunk_size=EXPORT_CHUNK_SIZE)
    )
