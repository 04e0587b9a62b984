"""The error catalog, the code and docs/api.md stay in step."""

from __future__ import annotations

import re
from pathlib import Path

from apps.core.errors import CATALOG

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "api.md"
#: DomainError("code", ...) and error_body("code", ...) anywhere in apps/, over line breaks.
USE = re.compile(r"\b(?:DomainError|error_body)\(\s*[\"']([A-Za-z0-9_]+)[\"']")
ROW = re.compile(r"^\|\s*`([a-z0-9_]+)`\s*\|\s*(\d{3})\s*\|", re.MULTILINE)


def codes_used_in_the_source() -> dict[str, list[str]]:
    used: dict[str, list[str]] = {}
    for path in sorted((ROOT / "apps").rglob("*.py")):
        for code in USE.findall(path.read_text(encoding="utf-8")):
            used.setdefault(code, []).append(str(path.relative_to(ROOT)))
    return used


def test_the_source_scan_finds_something() -> None:
    assert {"not_found", "invalid_page_token", "malformed_body"} <= set(codes_used_in_the_source())


def test_every_code_raised_in_the_source_is_in_the_catalog() -> None:
    unknown = {c: where for c, where in codes_used_in_the_source().items() if c not in CATALOG}
    assert not unknown, f"codes missing from apps/core/errors.CATALOG: {unknown}"


def test_every_catalog_code_is_documented_with_its_status() -> None:
    documented = {code: int(status) for code, status in ROW.findall(DOC.read_text("utf-8"))}
    missing = sorted(set(CATALOG) - set(documented))
    assert not missing, (
        f"add these codes to docs/api.md (manage.py error_catalog prints the table): {missing}"
    )
    wrong = {c: (documented[c], s) for c, (s, _) in CATALOG.items() if documented[c] != s}
    assert not wrong, f"docs/api.md gives another status (doc, code): {wrong}"


def test_the_doc_lists_no_code_that_does_not_exist() -> None:
    documented = {code for code, _ in ROW.findall(DOC.read_text("utf-8"))}
    assert not documented - set(CATALOG), sorted(documented - set(CATALOG))
