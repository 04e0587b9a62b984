"""What a request asks the database after its write committed (tests that need
``django_db(transaction=True)``, so that the write really commits)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
from django.db.models import Model


@contextmanager
def queries_after_commit(model: type[Model]) -> Iterator[list[str]]:
    """Yields the list of SQL statements run after the commit of the transaction that
    first INSERTs a row of ``model``. The list is filled when the block ends; the block
    fails if no such insert committed."""
    table = connection.ops.quote_name(model._meta.db_table)
    seen: list[str] = []
    committed: list[int] = []

    def spy(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if not committed and sql.lstrip().upper().startswith(f"INSERT INTO {table.upper()}"):
            transaction.on_commit(lambda: committed.append(len(seen)))
        seen.append(sql)
        return execute(sql, params, many, context)

    after: list[str] = []
    with connection.execute_wrapper(spy):
        yield after
    assert committed, f"no committed INSERT INTO {table}"
    after.extend(seen[committed[0] :])
