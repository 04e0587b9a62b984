"""End-to-end harness: the console in a real headless Chromium, driven by Playwright.

- The browser is Debian's ``chromium`` (``apt-get install chromium``; ``CHROMIUM_PATH``
  overrides the path). Playwright's own browser download (``playwright install``) is
  never used. Without a Chromium, or without the ``playwright`` package, every test here
  is skipped with the reason, so ``make test`` passes on a laptop without them.
- The server is pytest-django's ``live_server`` (a thread of this process, on the test
  database: SQLite or PostgreSQL); tests use ``django_db(transaction=True)`` so the
  server thread sees their rows.
- Screenshots of every main page a flow visits are saved under
  ``test-artifacts/screenshots/<test name>/`` (listed in .gitignore), at 1280 px wide,
  plus at least one at 390 px (a phone); a failing test also saves the page it failed on.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# The sync Playwright API runs an asyncio event loop in this thread; Django then refuses
# ORM calls from it (SynchronousOnlyOperation). The tests' ORM calls are ordinary
# blocking calls between browser steps, which is exactly the case this documented escape
# hatch is for: https://docs.djangoproject.com/en/stable/topics/async/#envvar-DJANGO_ALLOW_ASYNC_UNSAFE
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}
PASSWORD = "correct horse battery staple"  # tests/factories.py AccountFactory
#: Chromium in a container: no sandbox (no user namespaces), no GPU, /dev/shm is small,
#: and nothing that phones home (updates, sync, first-run pages).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000


def chromium_path() -> str | None:
    candidates = [
        os.environ.get("CHROMIUM_PATH"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        "/usr/bin/chromium",
    ]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)  # the page fixture screenshots failures
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium found: apt-get install chromium (or set CHROMIUM_PATH)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Shots:
    """Screenshots of one test, numbered in the order taken."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    def take(self, page: Any, name: str, *, narrow: bool = False) -> Path:
        """A full-page screenshot at 1280 px (and, with ``narrow``, one at 390 px too)."""
        path = self._save(page, name, "1280")
        if narrow:
            page.set_viewport_size(NARROW)
            try:
                self._save(page, name, "390")
            finally:
                page.set_viewport_size(WIDE)
        return path

    def _save(self, page: Any, name: str, suffix: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        path = self.folder / f"{len(self.taken) + 1:02d}-{slug}-{suffix}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    folder = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    if folder.exists():
        shutil.rmtree(folder)
    return Shots(folder)


@pytest.fixture
def page(browser: Any, live_server: Any, request: pytest.FixtureRequest, shots: Shots) -> Any:
    context = browser.new_context(viewport=WIDE, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm="..." forms
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        with contextlib.suppress(Exception):  # a broken page must not hide the failure
            shots.take(page, "failed-here")
    context.close()


def log_in(page: Any, email: str, password: str = PASSWORD) -> None:
    """Through the real login form (django-axes is on: use a fresh account per test)."""
    page.goto("/console/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert "/console/login/" not in page.url, page.content()[:2000]
