"""The README's promises: a two-command quick start that the Makefile keeps, and a
settings table that lists every environment variable settings.py reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
SETTINGS = (ROOT / "chatadmin" / "settings.py").read_text(encoding="utf-8")


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## )", README, re.S | re.M)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def quick_start_commands() -> list[str]:
    block = re.search(r"```(?:bash|sh|console)?\n(.*?)```", section("Quick start"), re.S)
    assert block, "the quick start has no code block"
    lines = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines()]
    return [line.removeprefix("$ ") for line in lines if line]


def makefile_targets() -> set[str]:
    targets: set[str] = set()
    for match in re.finditer(r"^([A-Za-z0-9_.%/ -]+?)\s*::?(?!=)", MAKEFILE, re.M):
        targets.update(match.group(1).split())
    return targets


def test_the_quick_start_is_exactly_make_run_and_make_test() -> None:
    assert quick_start_commands() == ["make run", "make test"]


def test_both_quick_start_commands_are_makefile_targets() -> None:
    targets = makefile_targets()
    for command in quick_start_commands():
        assert command.split()[1] in targets


def test_make_run_seeds_the_demo_and_make_lint_exists() -> None:
    targets = makefile_targets()
    assert {"run", "test", "lint", "demo", "worker", "beat"} <= targets
    run_prerequisites = re.search(r"^run:(.*)$", MAKEFILE, re.M)
    assert run_prerequisites and "demo" in run_prerequisites.group(1).split()


def test_every_environment_setting_is_in_the_readme_table() -> None:
    read = set(re.findall(r"(?:env|Env\(\))\.\w+\(\s*[\"']([A-Z][A-Z0-9_]+)[\"']", SETTINGS))
    assert {"DATABASE_URL", "DJANGO_SECRET_KEY", "CELERY_BROKER_URL"} <= read
    table = section("Settings")
    documented = set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|", table, re.M))
    missing = sorted(read - documented)
    assert not missing, f"add these to the settings table of README.md: {missing}"
    assert not documented - read, sorted(documented - read)


@pytest.mark.parametrize("document", ["README.md", "docs/api.md", "docs/operations.md"])
def test_relative_links_point_to_files_that_exist(document: str) -> None:
    path = ROOT / document
    links = re.findall(r"\]\((?!https?:|#)([^)#\s]+)", path.read_text(encoding="utf-8"))
    missing = [link for link in links if not (path.parent / link).exists()]
    assert not missing, f"{document} links to missing files: {missing}"
