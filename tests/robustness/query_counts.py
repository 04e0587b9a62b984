"""Per-app query-count baselines: load, compare and rewrite ``tests/<app>/query_counts.json``.

After netbox's ``utilities/testing/query_counts.py``. ``<app>`` is the app that owns the
view (``apps.<app>...``), so ``tests/channels/query_counts.json`` holds the counts of the
views of ``apps.channels``.

File format: one JSON object, keys sorted, two-space indent, a newline at the end::

    {
      "GET /api/v2/channels [admin_bearer]": 3,
      "GET /console/{org}/channels/ [admin]": {
        "postgresql": 8,
        "sqlite": 7
      }
    }

- the key is ``METHOD /path/template [credential kind]`` (the template in OpenAPI form,
  ``{name}`` for a path parameter);
- the value is the number of SQL queries one request makes: an int when SQLite and
  PostgreSQL agree, else an object with one count per ``connection.vendor`` (only where
  they differ; a regeneration folds it back to an int once they agree).

Regenerate with the pytest option ``--update-query-counts`` or ``UPDATE_QUERY_COUNTS=1``
(see ``REGENERATE``): counts of the database the run is on are written; the other
vendor's count of an entry is kept, so run it once on each database.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent.parent
BASELINE_FILENAME = "query_counts.json"
UPDATE_OPTION = "--update-query-counts"
UPDATE_ENV_VAR = "UPDATE_QUERY_COUNTS"
VENDORS = ("postgresql", "sqlite")
REGENERATE = (
    ".venv/bin/pytest tests/robustness/test_query_counts.py --update-query-counts, once on "
    "SQLite and once with DATABASE_URL=postgres://... (PostgreSQL)"
)

Entry = int | dict[str, int]


def update_mode(config: object) -> bool:
    """True when the run regenerates the baselines (the option or the environment)."""
    option = getattr(config, "getoption", None)
    flag = bool(option(UPDATE_OPTION.lstrip("-").replace("-", "_"))) if option else False
    return flag or os.environ.get(UPDATE_ENV_VAR, "") not in ("", "0")


def baseline_path(app: str) -> Path:
    return TESTS_DIR / app / BASELINE_FILENAME


def baseline_files() -> dict[str, Path]:
    """Every baseline file in the checkout, by app."""
    return {path.parent.name: path for path in sorted(TESTS_DIR.glob(f"*/{BASELINE_FILENAME}"))}


def load(app: str) -> dict[str, Entry]:
    path = baseline_path(app)
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a JSON object is expected")
    return data


def expected(entry: Entry, vendor: str) -> int | None:
    """The count an entry holds for ``vendor`` (None: none recorded for it)."""
    if isinstance(entry, int):
        return entry
    return entry.get(vendor)


def merged(entry: Entry | None, vendor: str, count: int) -> Entry:
    """``entry`` with ``vendor``'s count set to ``count``; the other vendors' counts are
    kept (an int stands for every vendor), and the result is an int when all agree."""
    counts = {v: (entry if isinstance(entry, int) else (entry or {}).get(v)) for v in VENDORS}
    counts[vendor] = count
    known = {v: c for v, c in counts.items() if c is not None}
    if len(set(known.values())) == 1:
        return count
    return dict(sorted(known.items()))


def write(app: str, entries: dict[str, Entry]) -> None:
    """Replace ``app``'s file with ``entries`` (and remove the file if there are none)."""
    path = baseline_path(app)
    if not entries:
        path.unlink(missing_ok=True)
        return
    path.write_text(json.dumps(dict(sorted(entries.items())), indent=2) + "\n")
