"""Django admin building blocks: read-only by default, and large tables.

**Read-only.** The admin site reads; the services write (DESIGN.md, "Layers": admin.py is
read-only, actions call services). ``ReadOnlyAdmin`` refuses add, change and delete to
everyone, superusers included, whatever Django's model permissions say: the change view
shows the fields read-only, a POST to it (or to a delete confirmation) is 403, and the
"delete selected" action is gone. A write that matters is a ``service_action``: an action,
on the change list and on the object's page, that calls the audited service with the
admin user as the actor. A subclass opts in to a form write only deliberately, by naming
it in ``allowed_writes`` and making it a service call (``OrganizationAdmin``: settings)
or Django's own account management (``AccountAdmin``); tests/test_admin_site.py lists
every admin that does.

**Large tables** (messages, reactions, memberships, members, audit entries, events,
reports): ``LargeTableAdmin``, a ``ReadOnlyAdmin``.

The default changelist counts twice (``COUNT(*)`` of the filtered and of the whole
table) and a ``list_filter`` on a foreign key runs ``SELECT DISTINCT`` over the table.
On 1,000,000 messages that was 280 of the page's 318 ms. ``LargeTableAdmin`` avoids all
three:

- ``show_full_result_count = False``: no second count of the unfiltered table;
- ``EstimatedCountPaginator``: on PostgreSQL, an unfiltered list is counted with the
  planner's estimate (``pg_class.reltuples``, kept by ANALYZE/autovacuum); everything
  else (a search, a filter, SQLite) is a *capped* count — ``SELECT COUNT(*) FROM
  (SELECT ... LIMIT cap + 1)`` — that stops after ``count_cap`` rows. The changelist then
  says "10000 results" for "10000 or more": narrow the search to see the rest;
- no foreign-key ``list_filter`` (use the raw id widgets and ``?channel__id__exact=``
  style URLs, or the console's filters); choice filters (a handful of fixed values) are
  fine, they list the choices without reading the table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import ActionLocation
from django.contrib.auth import get_permission_codename
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import DatabaseError, connections
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

from apps.core.errors import DomainError

logger = logging.getLogger(__name__)

#: Above this many rows a count stops counting (capped) or trusts the planner (estimate).
DEFAULT_COUNT_CAP = 10_000


def table_row_estimate(queryset: QuerySet) -> int | None:
    """The planner's row estimate of the queryset's table on PostgreSQL, or None (other
    databases, a table never analyzed, or any error)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    table = connection.ops.quote_name(queryset.model._meta.db_table)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table]
            )
            row = cursor.fetchone()
    except DatabaseError:  # pragma: no cover - e.g. a permission problem; count instead
        logger.warning("no row estimate for %s", table, exc_info=True)
        return None
    if row is None or row[0] is None or row[0] < 0:  # -1: never vacuumed nor analyzed
        return None
    return int(row[0])


def is_unfiltered(queryset: QuerySet) -> bool:
    """True when the queryset reads the whole table (no WHERE, no DISTINCT, no slice)."""
    query = queryset.query
    return (
        not query.where
        and not query.distinct
        and not query.combinator
        and query.low_mark == 0
        and query.high_mark is None
    )


class EstimatedCountPaginator(Paginator):
    """A Paginator whose ``count`` never scans a large table.

    Unfiltered on PostgreSQL: ``pg_class.reltuples`` when it says at least ``count_cap``
    rows (below that, an exact count is cheap and exact). Otherwise: the exact count up
    to ``count_cap`` rows, and ``count_cap`` beyond.
    """

    count_cap = DEFAULT_COUNT_CAP

    @cached_property
    def count(self) -> int:
        object_list: Any = self.object_list
        if not isinstance(object_list, QuerySet):
            return len(object_list)
        if is_unfiltered(object_list):
            estimate = table_row_estimate(object_list)
            if estimate is not None and estimate >= self.count_cap:
                return estimate
        return capped_count(object_list, self.count_cap)


def capped_count(queryset: QuerySet, cap: int) -> int:
    """``min(queryset.count(), cap)``, reading at most ``cap + 1`` rows."""
    return min(queryset.order_by()[: cap + 1].count(), cap)


#: The reason the audited services record for a write asked for on the admin site.
ADMIN_REASON = "via the Django admin site"

#: A service action is offered on the change list (selected rows) and on an object's page.
SERVICE_ACTION_LOCATIONS = [ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM]

_WRITES = frozenset({"add", "change", "delete"})


def service_action(*, description: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@admin.action`` for an action that calls an audited service: offered to whoever
    holds the model's Django "change" permission (``ReadOnlyAdmin.has_service_permission``),
    on the change list and on the object's (read-only) page."""
    return admin.action(
        description=description, permissions=["service"], location=SERVICE_ACTION_LOCATIONS
    )


class ReadOnlyAdmin(admin.ModelAdmin):
    """A ModelAdmin that never writes by itself (see the module doc).

    ``allowed_writes``: the form writes ("add", "change", "delete") a subclass deliberately
    opts in to, each one a service call (``save_model``) or Django's own account
    management; still subject to Django's model permissions. Empty: read-only.
    """

    allowed_writes: frozenset[str] = frozenset()

    def __init__(self, model: type[Model], admin_site: admin.AdminSite) -> None:
        super().__init__(model, admin_site)
        unknown = set(self.allowed_writes) - _WRITES
        if unknown:
            raise ValueError(f"{type(self).__name__}.allowed_writes: unknown {sorted(unknown)}")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return "add" in self.allowed_writes and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return "change" in self.allowed_writes and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return "delete" in self.allowed_writes and super().has_delete_permission(request, obj)

    def has_service_permission(self, request: HttpRequest) -> bool:
        """May this user run the ``service_action``s? The model's Django "change"
        permission (superusers have it): the services then apply their own rules."""
        opts = self.opts
        codename = get_permission_codename("change", opts)
        return request.user.has_perm(f"{opts.app_label}.{codename}")

    def get_actions(
        self, request: HttpRequest, action_location: ActionLocation = ActionLocation.CHANGE_LIST
    ) -> dict[str, Any]:
        actions = super().get_actions(request, action_location=action_location)
        if "delete" not in self.allowed_writes:
            actions.pop("delete_selected", None)  # a hard delete, past every service
        return actions

    def call_service_for_each(
        self,
        request: HttpRequest,
        rows: Iterable[Any],
        call: Callable[[Any], object],
        *,
        done: str,
    ) -> int:
        """``call(row)`` for each row: one audited service call, its own transaction. A
        ``DomainError`` refuses that row only; the admin says which row and why. ``done``
        is the success message, with ``{count}`` (e.g. "Closed {count} channel(s)").
        Returns how many calls succeeded."""
        count = 0
        for row in rows:
            try:
                call(row)
            except DomainError as exc:
                self.message_user(request, f"{row}: {exc.message}", messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, done.format(count=count), messages.SUCCESS)
        return count


class ReadOnlyTabularInline(admin.TabularInline):
    """An inline that shows rows and never adds, changes nor deletes one."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LargeTableAdmin(ReadOnlyAdmin):
    """Base ModelAdmin for tables that grow to millions of rows (see the module doc);
    read-only like every ``ReadOnlyAdmin``.
    Subclasses still set ``list_select_related`` (every FK shown in ``list_display``)
    and ``raw_id_fields`` (every FK in the form).

    Search: the admin's default search is ``UPPER(col) LIKE UPPER('%term%')`` on every
    field (and ``=field`` is ``UPPER(col) = UPPER(term)``): a scan that no index can
    serve. Declare ``search_exact`` (an exact, case-sensitive match; the term is converted
    to the field's type — a UUID, a number — and fields it does not fit are skipped) and
    ``search_prefix`` (case-sensitive "begins with") instead; ``search_fields`` is then
    set from them, only so the admin shows its search box.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    #: Rendering dominates once the queries are cheap: 50 rows render in half the time.
    list_per_page = 50
    search_exact: Sequence[str] = ()
    search_prefix: Sequence[str] = ()

    def __init__(self, model: type[Model], admin_site: admin.AdminSite) -> None:
        super().__init__(model, admin_site)
        if self.search_exact or self.search_prefix:
            self.search_fields = [*self.search_exact, *self.search_prefix]
            if not self.search_help_text:
                parts = [f"exactly {name}" for name in self.search_exact]
                parts += [f"{name} beginning with" for name in self.search_prefix]
                self.search_help_text = "Finds " + ", or ".join(parts) + " (case matters)."

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        if not (self.search_exact or self.search_prefix):
            return super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q()
        for name in self.search_exact:
            try:
                value = self.model._meta.get_field(name).to_python(term)
            except ValidationError:
                continue  # e.g. "abc" is no UUID and no number
            if isinstance(value, int) and not -(2**63) <= value < 2**63:
                continue
            condition |= Q(**{name: value})
        for name in self.search_prefix:
            condition |= Q(**{f"{name}__startswith": term})
        return (queryset.filter(condition) if condition else queryset.none()), False
