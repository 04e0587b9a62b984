"""Live refresh of the review queue and the dashboard (``static/console/live.js``).

A page that refreshes itself carries ``data-live-url`` (its JSON twin: the queue's
``review/live/``, the dashboard's ``live/``), ``data-live-since`` (the cursor: the
server's time when the page or the last answer was made) and ``data-live-interval``.
``live.js`` asks the twin about every 10 s while the tab is visible, with the page's
own query string (filters, sort, page cursor) and ``since``. The answer is small JSON:

- ``values``: the texts of the page's ``data-live-value`` elements (the queue's count,
  the dashboard's figures);
- ``rows``: the HTML of the table's rows (the template's own partial, so they are the
  rows the page renders), each ``<tr data-row-key>``; the script replaces only the rows
  whose HTML changed, and moves, adds or removes rows only while the focus is outside
  the table;
- ``new``: the reports (queue rows, for the queue) opened since ``since``, announced in
  the page's ``aria-live`` region ("2 new reports");
- ``since``: the next cursor.

Counts are capped (``COUNT_CAP``): the queue's rows are the targets' oldest open
reports (an anti-join over the organization's open reports), which no index counts
without reading every open report; see docs/console/live-queue.md for the figures.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

#: Counts stop here: "1,000+ items" beyond (bounded cost, whatever the queue's size).
COUNT_CAP = 1_000
#: How often a page asks for news, in milliseconds (paused while the tab is hidden).
INTERVAL_MS = 10_000


def capped_total(queryset: QuerySet[Any], cap: int = COUNT_CAP) -> tuple[int, bool]:
    """``(n, exact)``: the queryset's row count, read at most ``cap + 1`` rows deep;
    beyond ``cap`` it is ``(cap, False)``. One query."""
    counted = queryset.order_by()[: cap + 1].count()
    return (counted, True) if counted <= cap else (cap, False)


def count_label(count: int, exact: bool, *, noun: str = "item") -> str:
    """``"1 item"``, ``"52 items"``, ``"1,000+ items"``."""
    plural = noun if count == 1 and exact else f"{noun}s"
    return f"{count:,}{'' if exact else '+'} {plural}"


def new_label(count: int, exact: bool = True) -> str:
    """What the ``aria-live`` region says: ``""`` (nothing new), ``"1 new report"``..."""
    if count == 0:
        return ""
    return f"{count_label(count, exact, noun='new report')}"


def live_cursor() -> str:
    """The cursor a page (or an answer) hands out: the server's time now."""
    return timezone.now().isoformat()


def parse_cursor(value: str | None) -> datetime | None:
    """The time of a cursor from ``live_cursor``, or None (missing or malformed: then
    nothing is announced as new)."""
    if not value:
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        return None
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.UTC)
    return moment


def new_since(queryset: QuerySet[Any], since: datetime | None) -> tuple[int, bool]:
    """``capped_total`` of the rows created after ``since`` (0 without a cursor). On
    the ``report_queue`` index (organization, state, created_at): reads the new rows."""
    if since is None:
        return 0, True
    return capped_total(queryset.filter(created_at__gt=since))


def live_response(
    request: HttpRequest,
    *,
    values: dict[str, str],
    rows: str,
    empty: bool,
    new: tuple[int, bool],
) -> JsonResponse:
    """The JSON a ``live.js`` page reads (see the module docstring); never cached."""
    count, exact = new
    response = JsonResponse(
        {
            "values": values,
            "rows": rows,
            "empty": empty,
            "new": count,
            "announce": new_label(count, exact),
            "since": live_cursor(),
        }
    )
    response["Cache-Control"] = "no-store"
    return response
