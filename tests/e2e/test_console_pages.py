"""Every console page in a real Chromium (see conftest.py): at 1440x900 and 390x844, in
light and dark, each page must

- not scroll sideways (``document.scrollingElement.scrollWidth <= innerWidth``),
- have no axe-core violation of serious or critical impact (axe-playwright-python
  bundles axe-core: nothing is fetched),
- raise no Content-Security-Policy violation (Chromium logs each one on the console);

with screenshots of each page at both sizes, light and dark. The pages are read from the
URL resolver (tests/console/console_pages.py), so a new page is checked without a new
test, on a small world with one of everything (tests/robustness/world.py).

Then the shell's own behaviour: the `?` overlay, single-key shortcuts turned off, the
phone menu, the theme toggle, the branded 404, and /admin/ and /api/docs/ under the CSP.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from apps.accounts.models import Account
from apps.organizations.models import StaffRole

from ..console.console_pages import console_get_pages, page_path
from ..factories import StaffRoleFactory
from ..robustness.world import Tenant, build_tenant
from .conftest import Shots

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIZES = {"1440": {"width": 1440, "height": 900}, "390": {"width": 390, "height": 844}}
SCHEMES = ("light", "dark")
BLOCKING_IMPACTS = {"serious", "critical"}


@dataclass
class Findings:
    """Problems by page, reported all at once (one failing page must not hide others)."""

    problems: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)

    def add(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")


def _csp_listener(findings: Findings) -> Any:
    def listen(message: Any) -> None:
        if "Content Security Policy" in message.text:
            findings.csp.append(message.text[:300])

    return listen


def _log_in_as(page: Any, account: Account, live_server: Any) -> None:
    """A session made by the test client, handed to the browser (no login form: the
    login form has its own flow tests, and django-axes counts logins)."""
    client = Client()
    client.force_login(account)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )


@pytest.fixture
def acme(request: pytest.FixtureRequest) -> Tenant:
    return build_tenant("acme")


def _axe_serious(axe: Any, page: Any) -> list[str]:
    results = axe.run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in results.response["violations"]
        if v.get("impact") in BLOCKING_IMPACTS
    ]


def _overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the viewport (0: no sideways scroll)."""
    return page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")


def _pages() -> Iterator[Any]:
    yield from console_get_pages()


def test_every_console_page_fits_passes_axe_and_keeps_the_csp_at_both_sizes_and_schemes(
    page: Any, shots: Shots, acme: Tenant, live_server: Any
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    findings = Findings()
    page.on("console", _csp_listener(findings))
    checked = 0
    for console_page in _pages():
        path = page_path(console_page, acme)
        page.context.clear_cookies()
        if not console_page.anonymous:
            _log_in_as(page, acme.staff["admin"], live_server)
        # A download (CSV export) or a JSON endpoint of a page (live refresh, counts) is
        # not a page: asked first through the context's request API (same cookies).
        head = page.request.get(path, max_redirects=0)
        if "text/html" not in (head.headers.get("content-type") or ""):
            continue
        response = page.goto(path)
        assert response is not None
        if response.status >= 400:
            # a page that needs what a bare GET lacks (a job id, a query): its own tests
            # check it; it is listed as a warning
            warnings.warn(f"{path}: HTTP {response.status} for a bare GET", stacklevel=1)
            continue
        checked += 1
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)
            for size, viewport in SIZES.items():
                page.set_viewport_size(viewport)
                where = f"{path} [{size} {scheme}]"
                if (extra := _overflow(page)) > 0:
                    findings.add(where, f"scrolls sideways by {extra} px")
                for violation in _axe_serious(axe, page):
                    findings.add(where, violation)
                shots._save(page, console_page.name or path, f"{size}-{scheme}")
        if findings.csp:  # no page is exempt: style-src 'self' holds everywhere
            findings.add(path, f"{len(findings.csp)} CSP violation(s): {findings.csp[0]}")
            findings.csp.clear()
    assert checked >= 25
    assert findings.problems == [], "\n".join(findings.problems)


# --- the shell's behaviour ---------------------------------------------------------------


def _moderator(acme: Tenant, *, shortcuts: bool = True) -> Account:
    account = StaffRoleFactory(
        organization=acme.org, role=StaffRole.Role.MODERATOR, account__email="keys@acme.test"
    ).account
    account.keyboard_shortcuts = shortcuts
    account.save(update_fields=["keyboard_shortcuts"])
    return account


def test_question_mark_opens_the_shortcut_overlay_and_escape_closes_it(
    page: Any, shots: Shots, acme: Tenant, live_server: Any
) -> None:
    _log_in_as(page, _moderator(acme), live_server)
    page.goto(f"/console/{acme.org.slug}/channels/")
    page.locator("body").press("Shift+?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    dialog.wait_for()
    text = dialog.inner_text()
    assert "?" in text and "/" in text  # the channels page's search shortcut is listed
    assert page.evaluate("document.activeElement.closest('dialog') !== null")  # focus in it
    shots.take(page, "shortcut-overlay", narrow=True)
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    # the other single-key shortcuts work: / focuses the search box
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.type") == "search"


def test_with_shortcuts_off_keys_do_nothing_and_the_button_still_lists_them(
    page: Any, shots: Shots, acme: Tenant, live_server: Any
) -> None:
    _log_in_as(page, _moderator(acme, shortcuts=False), live_server)
    page.goto(f"/console/{acme.org.slug}/channels/")
    page.locator("body").press("/")
    assert page.evaluate("document.activeElement.type") != "search"
    page.locator("body").press("Shift+?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    assert not dialog.is_visible()
    page.get_by_role("button", name="Keyboard shortcuts").click()
    dialog.wait_for()
    assert "shortcuts are off" in dialog.inner_text()
    shots.take(page, "shortcuts-off-overlay")
    dialog.get_by_role("button", name="Close").click()
    dialog.wait_for(state="hidden")
    # focus went back to the button that opened it
    assert page.evaluate("document.activeElement.textContent") == "Keyboard shortcuts"


def test_on_a_phone_the_menu_button_opens_and_closes_the_navigation(
    page: Any, shots: Shots, acme: Tenant, live_server: Any
) -> None:
    _log_in_as(page, _moderator(acme), live_server)
    page.set_viewport_size(SIZES["390"])
    page.goto(f"/console/{acme.org.slug}/")
    nav = page.get_by_role("navigation", name="Console")
    menu = page.get_by_role("button", name="Menu")
    assert not nav.is_visible() and menu.get_attribute("aria-expanded") == "false"
    shots._save(page, "phone-menu-closed", "390")
    menu.click()
    assert nav.is_visible() and menu.get_attribute("aria-expanded") == "true"
    shots._save(page, "phone-menu-open", "390")
    nav.get_by_role("link", name="Users").click()
    page.wait_for_load_state()
    assert page.url.endswith("/users/")
    page.set_viewport_size(SIZES["1440"])  # wide: no button, the sidebar is always there
    assert not menu.is_visible() and nav.is_visible()


def test_the_theme_toggle_switches_to_dark_and_is_remembered(
    page: Any, shots: Shots, acme: Tenant, live_server: Any
) -> None:
    account = _moderator(acme)
    _log_in_as(page, account, live_server)
    page.emulate_media(color_scheme="light")
    page.goto(f"/console/{acme.org.slug}/users/")

    def background() -> str:
        return page.evaluate("getComputedStyle(document.documentElement).backgroundColor")

    light = background()
    page.get_by_role("group", name="Colour scheme").get_by_role("button", name="Dark").click()
    page.wait_for_load_state()
    assert page.url.endswith("/users/")  # back on the same page
    assert page.locator("html").get_attribute("data-theme") == "dark"
    assert background() != light
    account.refresh_from_db()
    assert account.theme == "dark"
    shots.take(page, "dark-by-choice", narrow=True)
    page.goto(f"/console/{acme.org.slug}/")  # remembered on the next page, no flash
    assert page.locator("html").get_attribute("data-theme") == "dark"
    page.get_by_role("button", name="System").click()
    page.wait_for_load_state()
    assert background() == light  # the system says light


def test_the_branded_404_admin_and_api_docs_work_under_the_csp(
    page: Any, shots: Shots, acme: Tenant, live_server: Any
) -> None:
    findings = Findings()
    page.on("console", _csp_listener(findings))
    response = page.goto("/console/acme/no-such-page/")
    assert response is not None and response.status == 404
    page.get_by_role("heading", name="Page not found").wait_for()
    shots.take(page, "branded-404", narrow=True)

    root = Account.objects.create_superuser("root@acme.test", "pw-not-used-here")
    _log_in_as(page, root, live_server)
    page.goto("/admin/")
    page.get_by_role("heading", name=re.compile("Site administration")).wait_for()
    page.goto("/admin/accounts/account/")
    page.get_by_role("link", name="root@acme.test").first.click()
    page.wait_for_load_state()
    shots.take(page, "admin-change-form")

    page.goto("/api/docs/")
    page.locator(".swagger-ui .opblock").first.wait_for()  # Swagger UI ran and rendered
    shots.take(page, "api-docs")
    assert findings.csp == []
