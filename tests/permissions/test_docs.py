"""docs/api/messaging-permissions.md shows the registry as it is."""

from __future__ import annotations

from pathlib import Path

from apps.permissions.registry import MESSAGING, OPERATIONS, markdown_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "api" / "messaging-permissions.md"


def test_the_docs_table_is_the_registry() -> None:
    assert markdown_table() in DOC.read_text(encoding="utf-8"), (
        "Regenerate the table: python -c 'from apps.permissions.registry import "
        "markdown_table; print(markdown_table())'"
    )


def test_every_operation_is_named_once_with_a_description_and_some_default() -> None:
    names = [(op.resource, op.operation) for op in OPERATIONS]
    assert len(names) == len(set(names))
    for op in OPERATIONS:
        assert op.description and op.roles, op.operation
        assert not (op.owner and op.resource == MESSAGING), op.operation
