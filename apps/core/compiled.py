"""A read on the hot path whose SQL the ORM compiles once per process.

Building a ``select_related`` query costs about a millisecond of CPU, several times the
indexed statement it sends (docs/performance.md, "Token lookups"). :class:`CompiledRead`
lets the ORM write the statement once per database alias, with placeholder values for
its parameters, and then only runs it: the parameters are put in their places, the row
goes through the converters the ORM would apply, and the caller builds the (narrow)
instances it needs with :func:`instance`, or takes the row as a dict (a ``values()``
query, :meth:`CompiledRead.first_dict`).

A parameter is a string (named positionally), or typed by the model field it is compared
with (named as a keyword): the placeholder is then a value of that field's type that no
real row holds, and a value given at run time is made ready for the database by that
field, as the ORM would have made it (a UUID is its hex on SQLite, a datetime a string).
Only plain comparisons (``exact``, ``gt``, ``lt``...) take placeholders: a lookup that
rewrites its value (``contains``, ``in``) would not find its placeholder, and the compile
fails loudly.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model, QuerySet


def _placeholder(name: str) -> str:
    return f"\x00{name}\x00"


def _typed_placeholder(n: int, field: Field) -> Any:
    """Value ``n`` (one per parameter) of ``field``'s type that no real row holds."""
    internal = field.target_field.get_internal_type() if field.is_relation else None
    kind = internal or field.get_internal_type()
    if kind in {"UUIDField"}:
        return uuid.UUID(int=(1 << 128) - 1 - n)
    if kind in {"DateTimeField"}:
        return datetime.datetime(1, 1, 1, 0, 0, 0, n + 1, tzinfo=datetime.UTC)
    if kind.endswith("IntegerField") or kind.endswith("AutoField"):
        return -(1 << 62) - n
    return _placeholder(f"{field.name}{n}")


def _prepared(field: Field, value: Any, db: BaseDatabaseWrapper) -> Any:
    """``value`` as the ORM sends it to ``db`` when compared with ``field``."""
    return field.get_db_prep_value(field.get_prep_value(value), db, prepared=True)


#: SQL, its parameters (placeholders included), the placeholders' positions, the
#: converters of the selected columns (position, converter functions, expression), and
#: the names of the columns (a ``values()`` query's keys).
type _Compiled = tuple[str, list[Any], dict[int, str], list[tuple[int, list[Any], Any]], list[str]]


class CompiledRead:
    """``build(**placeholders)`` returns a ``values_list`` (or ``values``) queryset;
    :meth:`first` runs it with the given values (one statement) and returns its first
    row, converted, or None; :meth:`first_dict` the same row by column name;
    :meth:`all_dicts` every row."""

    def __init__(self, build: Callable[..., QuerySet[Any]], *names: str, **typed: Field) -> None:
        self._build = build
        self._names = names
        self._typed = typed
        # (alias, vendor) -> (sql, constant params, {position: name}, converters, names)
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def _compile(self, db: BaseDatabaseWrapper) -> _Compiled:
        placeholders: dict[str, Any] = {name: _placeholder(name) for name in self._names}
        placeholders |= {
            name: _typed_placeholder(n, field)
            for n, (name, field) in enumerate(self._typed.items())
        }
        queryset = self._build(**placeholders)
        compiler = queryset.query.get_compiler(using=db.alias)
        sql, params = compiler.as_sql()
        sent = {name: placeholders[name] for name in self._names}
        sent |= {
            name: _prepared(field, placeholders[name], db) for name, field in self._typed.items()
        }
        slots = {n: name for n, value in enumerate(params) for name in sent if value == sent[name]}
        missing = set(sent) - set(slots.values())
        if missing:
            raise ValueError(f"parameters not in the compiled statement: {sorted(missing)}")
        columns = [select[0] for select in compiler.select[: compiler.col_count]]
        converters = [
            (position, converts, expression)
            for position, (converts, expression) in compiler.get_converters(columns).items()
        ]
        query = queryset.query
        keys = [*query.extra_select, *query.values_select, *query.annotation_select]
        compiled = (sql, list(params), slots, converters, keys)
        self._compiled[db.alias, db.vendor] = compiled
        return compiled

    def first(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[Any] | None:
        rows, _ = self._rows(connections[using], values, one=True)
        return rows[0] if rows else None

    def first_dict(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> dict[str, Any] | None:
        """The first row of a ``values()`` query as the ORM's dict, or None."""
        rows, keys = self._rows(connections[using], values, one=True)
        return dict(zip(keys, rows[0], strict=True)) if rows else None

    def all_dicts(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[dict[str, Any]]:
        """Every row of a ``values()`` query as the ORM's dicts, in the query's order."""
        rows, keys = self._rows(connections[using], values, one=False)
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def _rows(
        self, db: BaseDatabaseWrapper, values: dict[str, Any], *, one: bool
    ) -> tuple[list[list[Any]], list[str]]:
        compiled = self._compiled.get((db.alias, db.vendor)) or self._compile(db)
        sql, params, slots, converters, keys = compiled
        params = list(params)
        for position, name in slots.items():
            field = self._typed.get(name)
            value = values[name]
            params[position] = value if field is None else _prepared(field, value, db)
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            fetched = cursor.fetchmany(1) if one else cursor.fetchall()
        rows = [list(row) for row in fetched]
        for row in rows:
            for position, converts, expression in converters:
                value = row[position]
                for convert in converts:
                    value = convert(value, expression, db)
                row[position] = value
        return rows, keys


def fields_of(model: type[Model], names: Iterable[str] | None = None) -> list[str]:
    """The attnames of ``model``'s concrete fields named in ``names`` (all when None), in
    the model's field order (the order :func:`instance` expects)."""
    wanted = None if names is None else set(names)
    return [
        f.attname
        for f in model._meta.concrete_fields
        if wanted is None or f.name in wanted or f.attname in wanted
    ]


def instance[M: Model](
    model: type[M], attnames: Sequence[str], values: Sequence[Any], using: str
) -> M:
    """A ``model`` instance from ``values`` of ``attnames`` (from :func:`fields_of`): as
    loaded by the ORM, the other fields deferred."""
    return model.from_db(using, list(attnames), list(values))
