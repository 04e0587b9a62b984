"""Console pages: the audit log (read-only for every role) and its CSV export.

Both use the one FilterSet of apps/audit/filters.py through apps/audit/selectors.py,
so the export holds exactly the entries the page lists (in id order, streamed).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import URLPattern, path
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.audit.selectors import (
    EXPORT_COLUMNS,
    audit_actions_present,
    audit_entries_for_export,
    audit_entry_filterset,
)
from apps.console.access import ConsoleView
from apps.console.paging import console_page

FILTER_KEYS = ("actor", "action", "target_type", "target_id", "since", "until")
SORTS = {"newest": "-created_at", "oldest": "created_at"}
#: Cells a spreadsheet would run as a formula start with one of these: such cells are
#: prefixed with an apostrophe in the export (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class EntryRow:
    """An entry as the page shows it (before/after as indented JSON)."""

    entry: AuditEntry
    before: str | None
    after: str | None


def _pretty(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def _filter_data(request: HttpRequest) -> dict[str, str]:
    return {k: request.GET[k] for k in FILTER_KEYS if request.GET.get(k, "").strip()}


class AuditLogView(ConsoleView):
    section = "audit"

    def get(self, request: HttpRequest) -> HttpResponse:
        data = _filter_data(request)
        filterset = audit_entry_filterset(organization=self.organization, data=data)
        queryset = filterset.qs if filterset.is_valid() else filterset.queryset.none()
        page = console_page(
            request,
            queryset,
            scope=f"audit:{self.organization.pk}:{urlencode(sorted(data.items()))}",
            sorts=SORTS,
            default_sort="newest",
        )
        rows = [EntryRow(e, _pretty(e.before), _pretty(e.after)) for e in page.items]
        actions = audit_actions_present(organization=self.organization)
        if data.get("action") and data["action"] not in actions:
            actions = sorted([*actions, data["action"]])
        return self.render(
            "console/audit/list.html",
            status=200 if filterset.is_valid() else 400,
            page=page,
            rows=rows,
            form=filterset.form,
            filters=data,
            actions=actions,
            export_query=urlencode(data),
        )


class _Echo:
    """A file-like object whose write returns the line, for csv.writer streaming."""

    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    if hasattr(value, "isoformat"):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class AuditExportView(ConsoleView):
    """``audit/export.csv``: the filtered entries as CSV, oldest first (id order),
    streamed row by row from a chunked cursor: memory stays flat at any size."""

    section = "audit"

    def get(self, request: HttpRequest) -> HttpResponse:
        filterset = audit_entry_filterset(
            organization=self.organization, data=_filter_data(request)
        )
        if not filterset.is_valid():
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in filterset.errors.items())
            return HttpResponse(
                f"Bad filter: {problems}\n", status=400, content_type="text/plain; charset=utf-8"
            )
        rows = audit_entries_for_export(filterset.qs)
        writer = csv.writer(_Echo())

        def lines() -> Iterator[str]:
            yield writer.writerow(EXPORT_COLUMNS)
            for row in rows:
                yield writer.writerow([_cell(value) for value in row])

        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="audit-{self.organization.slug}-{stamp}.csv"'
        )
        response["Cache-Control"] = "no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response


urlpatterns: list[URLPattern] = [
    path("audit/", AuditLogView.as_view(), name="audit"),
    path("audit/export.csv", AuditExportView.as_view(), name="audit_export"),
]
