"""A read on the hot path whose SQL the ORM compiles once per process.

Building a ``select_related`` query costs about a millisecond of CPU, several times the
indexed statement it sends (docs/performance.md, "Token lookups"). :class:`CompiledRead`
lets the ORM write the statement once per database alias, with placeholder values for
its parameters, and then only runs it: the parameters are put in their places, the row
goes through the converters the ORM would apply, and the caller builds the (narrow)
instances it needs with :func:`instance`. Only string parameters can be placeholders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet


def _placeholder(name: str) -> str:
    return f"\x00{name}\x00"


#: SQL, its parameters (placeholders included), the placeholders' positions, and the
#: converters of the selected columns (position, converter functions, expression).
type _Compiled = tuple[str, list[Any], dict[int, str], list[tuple[int, list[Any], Any]]]


class CompiledRead:
    """``build(**placeholders)`` returns a ``values_list`` queryset; :meth:`first` runs it
    with the given values (one statement) and returns its first row, converted, or None.
    """

    def __init__(self, build: Callable[..., QuerySet[Any]], *names: str) -> None:
        self._build = build
        self._names = names
        # (alias, vendor) -> (sql, constant params, {position: name}, converters)
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def _compile(self, alias: str, vendor: str) -> _Compiled:
        queryset = self._build(**{name: _placeholder(name) for name in self._names})
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        slots = {
            n: name
            for n, value in enumerate(params)
            for name in self._names
            if value == _placeholder(name)
        }
        missing = set(self._names) - set(slots.values())
        if missing:
            raise ValueError(f"parameters not in the compiled statement: {sorted(missing)}")
        columns = [select[0] for select in compiler.select[: compiler.col_count]]
        converters = [
            (position, converts, expression)
            for position, (converts, expression) in compiler.get_converters(columns).items()
        ]
        compiled = (sql, list(params), slots, converters)
        self._compiled[alias, vendor] = compiled
        return compiled

    def first(self, using: str = DEFAULT_DB_ALIAS, **values: str) -> list[Any] | None:
        db = connections[using]
        compiled = self._compiled.get((using, db.vendor)) or self._compile(using, db.vendor)
        sql, params, slots, converters = compiled
        params = list(params)
        for position, name in slots.items():
            params[position] = values[name]
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        row = list(row)
        for position, converts, expression in converters:
            value = row[position]
            for convert in converts:
                value = convert(value, expression, db)
            row[position] = value
        return row


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
