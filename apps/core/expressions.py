"""Query expressions shared by the domain's lean reads (values rendered without models)."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import JSONField, QuerySet, Subquery


class JSONList(Subquery):
    """The rows of a correlated ``values()`` subquery as a list, read in the outer row's
    own statement, in the subquery's order: each row's ``columns`` (the value of one
    column, a list of several). PostgreSQL builds an array (of ``json_build_array`` rows
    for several columns); SQLite a JSON array of the ordered rows (its aggregates take no
    ``ORDER BY`` before 3.44; an aggregate over an ordered subquery keeps its order). The
    product runs on these two databases only."""

    output_field = JSONField()

    def __init__(self, queryset: QuerySet[Any], *columns: str) -> None:
        self.columns = columns
        super().__init__(queryset)

    def _item(self, connection: Any, several: str) -> str:
        names = [connection.ops.quote_name(column) for column in self.columns]
        return names[0] if len(names) == 1 else f"{several}({', '.join(names)})"

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        item = self._item(connection, "json_build_array")
        template = f"ARRAY(SELECT {item} FROM (%(subquery)s) list_rows)"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        item = self._item(connection, "json_array")
        template = f"(SELECT json_group_array({item}) FROM (%(subquery)s))"
        return self.as_sql(compiler, connection, template=template, **extra)

    def get_db_converters(self, connection: Any) -> list[Any]:
        return [_json_list]


def _json_list(value: Any, expression: Any, connection: Any) -> list[Any]:
    if isinstance(value, str):  # SQLite's JSON text
        return json.loads(value)
    return value or []  # PostgreSQL's array (empty without rows)
