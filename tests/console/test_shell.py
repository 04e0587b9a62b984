"""The console's shell (issue 16): layout, branded error pages, the Content-Security-
Policy, the account's preferences (theme, single-key shortcuts) and the chart tables.

The browser side (no horizontal scroll, axe-core, CSP violations, the `?` overlay, the
phone menu, dark mode) is in tests/e2e/test_console_pages.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from apps.accounts.models import Account
from apps.audit.models import AuditEntry
from apps.console.charts import Series, bar_chart
from apps.organizations.models import Organization
from chatadmin import urls as root_urls

from ..factories import AccountFactory
from ..robustness.world import build_tenant
from ..robustness.world import console_client as world_client
from .console_pages import console_get_pages, page_path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
PREFERENCES = "/console/profile/preferences/"

#: The templates this part of the console owns: none has an inline style or script.
SHELL_TEMPLATES = [
    "console/base.html",
    "console/_token_search.html",
    "console/profile/profile.html",
    "console/profile/token_issued.html",
    "console/channels/list.html",
    "console/errors/base.html",
    "400.html",
    "403.html",
    "404.html",
    "500.html",
]


def html_of(response) -> str:
    return response.content.decode()


# --- defects ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_profile_page_has_the_console_layout_with_the_accounts_organizations(
    moderator_client: Client, org: Organization
) -> None:
    html = html_of(moderator_client.get("/console/profile/"))
    assert 'class="with-sidebar' in html  # two columns: the sidebar and the page
    start = html.index('<nav class="sidebar"')
    sidebar = html[start : html.index("</nav>", start)]
    assert reverse("console:dashboard", args=[org.slug]) in sidebar
    assert 'aria-current="page">Profile &amp; tokens' in sidebar


@pytest.mark.django_db
def test_the_token_search_comment_is_not_page_text(moderator_client: Client) -> None:
    html = html_of(moderator_client.get("/console/profile/"))
    assert "Context: search, state" not in html
    assert "{#" not in html and "#}" not in html


def test_no_template_has_a_multi_line_hash_comment() -> None:
    """Django's ``{# #}`` is one line only: a multi-line one is shown as page text."""
    offenders = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in TEMPLATES.rglob("*.html")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "{#" in line and "#}" not in line[line.index("{#") :]
    ]
    assert offenders == []


def test_the_chart_table_is_clipped_by_a_wrapper_and_nothing_has_a_style_attribute() -> None:
    html = str(bar_chart([Series("A", [1, 2], "#0b5cad")], _days(2), title="t", chart_id="c"))
    # the table in a visually hidden <div>: a <table> itself ignores width and overflow
    assert '<div class="visually-hidden"><table>' in html
    assert "style=" not in html  # CSP: style-src 'self' without 'unsafe-inline'
    assert 'fill="#0b5cad"' in html  # the legend's swatch: an SVG presentation attribute
    css = (ROOT / "static/console/console.css").read_text()
    rule = re.search(r"\.visually-hidden \{([^}]*)\}", css)
    assert rule and "overflow: hidden" in rule.group(1) and "clip-path: inset(50%)" in rule.group(1)


def _days(n: int) -> list:
    from datetime import date, timedelta

    return [date(2026, 1, 1) + timedelta(days=i) for i in range(n)]


@pytest.mark.parametrize("name", SHELL_TEMPLATES)
def test_the_shells_templates_have_no_inline_style_or_script(name: str) -> None:
    text = (TEMPLATES / name).read_text()
    assert " style=" not in text and "<style" not in text
    assert re.search(r"<script(?![^>]*\bsrc=)", text) is None


# --- error pages -----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_a_console_404_is_the_branded_page_with_debug_on_and_off(
    moderator_client: Client, debug: bool
) -> None:
    with override_settings(DEBUG=debug):
        for path in ["/console/acme/no-such-page/", "/console/no-such-org/"]:
            response = moderator_client.get(path)
            assert response.status_code == 404, path
            html = html_of(response)
            assert "Page not found" in html and 'class="brand"' in html
            assert "URLconf" not in html and "console:dashboard" not in html  # no URL list


@pytest.mark.django_db
def test_an_api_404_stays_json_with_debug_on(client: Client) -> None:
    with override_settings(DEBUG=True):
        response = client.get("/api/v2/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_a_console_path_that_only_lacks_its_slash_is_still_redirected_under_debug(
    moderator_client: Client, org: Organization
) -> None:
    with override_settings(DEBUG=True):
        response = moderator_client.get(f"/console/{org.slug}")
    assert response.status_code == 301
    assert response["Location"] == f"/console/{org.slug}/"


@pytest.mark.django_db
def test_a_403_is_the_branded_page(moderator_client: Client, org: Organization) -> None:
    response = moderator_client.get(reverse("console:staff", args=[org.slug]))
    assert response.status_code == 403
    html = html_of(response)
    assert "You may not open this page" in html and 'class="brand"' in html


@pytest.mark.django_db
def test_a_400_is_the_branded_page(client: Client) -> None:
    response = client.get("/console/login/", HTTP_HOST="not-allowed.example")
    assert response.status_code == 400
    assert "Bad request" in html_of(response) and 'class="brand"' in html_of(response)


def test_the_500_page_renders_without_a_database_or_a_context() -> None:
    """No ``db`` fixture: pytest-django fails any query this makes."""
    request = RequestFactory().get("/console/acme/")
    response = root_urls.handler500(request)
    assert response.status_code == 500
    html = html_of(response)
    assert "Something went wrong on our side" in html
    assert 'href="/console/"' in html and "console/console.css" in html


# --- Content-Security-Policy -----------------------------------------------------------


def _policy(response) -> dict[str, str]:
    header = response.headers.get("Content-Security-Policy", "")
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in header.split(";")
        if part.strip()
    }


@pytest.mark.django_db
def test_every_console_page_carries_the_content_security_policy() -> None:
    """Every GET page of the console (from the URL resolver, on a world with one of
    everything) answers with script-src 'self' and style-src 'self', no inline."""
    acme = build_tenant("acme")
    admin, anonymous = world_client(acme.staff["admin"]), Client()
    pages = console_get_pages()
    assert len(pages) >= 30
    for page in pages:
        url = page_path(page, acme)
        response = (anonymous if page.anonymous else admin).get(url)
        # (JSON endpoints of the pages, e.g. live refresh, may refuse a bare GET: 400)
        assert response.status_code < 500, (url, response.status_code)
        policy = _policy(response)
        assert policy.get("script-src") == "'self'", url
        assert policy.get("style-src") == "'self'", url
        assert policy.get("object-src") == "'none'" and policy.get("frame-ancestors") == "'none'"


@pytest.mark.django_db
def test_the_error_pages_and_the_admin_carry_the_policy_too(
    client: Client, superuser_client: Client
) -> None:
    assert _policy(client.get("/console/no/such/page/"))["style-src"] == "'self'"
    assert _policy(superuser_client.get("/admin/"))["script-src"] == "'self'"


@pytest.mark.django_db
def test_the_api_docs_allow_inline_styles_only_and_load_their_script_from_a_url(
    client: Client,
) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self' 'unsafe-inline'"  # drf-spectacular's <style>
    html = html_of(response)
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None  # no inline script
    script = client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200 and "SwaggerUIBundle" in html_of(script)


def test_the_policy_is_strict_for_scripts_and_styles() -> None:
    assert settings.SECURE_CSP["script-src"] == ["'self'"]
    assert settings.SECURE_CSP["style-src"] == ["'self'"]


# --- preferences: theme and single-key shortcuts ------------------------------------------


@pytest.mark.django_db
def test_the_theme_is_rendered_on_html_and_the_toggle_shows_the_choice(
    moderator_client: Client, moderator: Account, org: Organization
) -> None:
    dashboard = reverse("console:dashboard", args=[org.slug])
    html = html_of(moderator_client.get(dashboard))
    assert '<html lang="en" data-theme="system">' in html
    assert 'value="system" aria-pressed="true"' in html
    response = moderator_client.post(PREFERENCES, {"theme": "dark", "next": dashboard})
    assert response.status_code == 302 and response["Location"] == dashboard
    moderator.refresh_from_db()
    assert moderator.theme == "dark" and moderator.keyboard_shortcuts is True  # unchanged
    html = html_of(moderator_client.get(dashboard))
    assert '<html lang="en" data-theme="dark">' in html
    assert 'value="dark" aria-pressed="true"' in html


@pytest.mark.django_db
def test_turning_the_shortcuts_off_is_rendered_on_body(
    moderator_client: Client, moderator: Account
) -> None:
    assert 'data-shortcuts="on"' in html_of(moderator_client.get("/console/profile/"))
    response = moderator_client.post(
        PREFERENCES, {"theme": "light", "keyboard_shortcuts": "off", "next": "/console/profile/"}
    )
    assert response.status_code == 302
    moderator.refresh_from_db()
    assert (moderator.theme, moderator.keyboard_shortcuts) == ("light", False)
    html = html_of(moderator_client.get("/console/profile/"))
    assert 'data-shortcuts="off"' in html
    assert '<option value="off" selected>' in html  # the profile form shows the choice


@pytest.mark.django_db
def test_a_preference_changes_only_the_callers_account_and_is_not_audited(
    moderator_client: Client, moderator: Account, owner: Account, outsider_client: Client
) -> None:
    outsider_client.post(PREFERENCES, {"theme": "dark", "keyboard_shortcuts": "off"})
    owner.refresh_from_db()
    moderator.refresh_from_db()
    assert (owner.theme, owner.keyboard_shortcuts) == ("system", True)
    assert (moderator.theme, moderator.keyboard_shortcuts) == ("system", True)
    assert not AuditEntry.objects.exists()  # personal, like personal tokens


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["owner", "org_admin", "moderator", "outsider", "nobody"])
def test_every_logged_in_account_may_set_its_own_preferences(
    request: pytest.FixtureRequest, persona: str
) -> None:
    account = (
        AccountFactory(email="nobody@example.test")
        if persona == "nobody"
        else request.getfixturevalue(persona)
    )
    client = Client()
    client.force_login(account)
    response = client.post(PREFERENCES, {"theme": "dark"})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.theme == "dark"


@pytest.mark.django_db
def test_preferences_refuse_anonymous_visitors_and_get(client: Client, moderator_client) -> None:
    response = client.post(PREFERENCES, {"theme": "dark"})
    assert response.status_code == 302 and response["Location"].startswith("/console/login/")
    assert moderator_client.get(PREFERENCES).status_code == 405


@pytest.mark.django_db
def test_an_unknown_value_changes_nothing(moderator_client: Client, moderator: Account) -> None:
    response = moderator_client.post(PREFERENCES, {"theme": "neon", "keyboard_shortcuts": "x"})
    assert response.status_code == 302
    moderator.refresh_from_db()
    assert (moderator.theme, moderator.keyboard_shortcuts) == ("system", True)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/console/",
        "//evil.example/console/",
        "/admin/",
        "/console//evil.example/",
        "javascript:alert(1)",
    ],
)
def test_preferences_go_back_only_to_a_console_page(moderator_client: Client, target: str) -> None:
    response = moderator_client.post(PREFERENCES, {"theme": "dark", "next": target})
    assert response["Location"] == "/console/profile/"


def test_the_theme_toggle_on_a_page_answering_a_post_goes_back_to_the_nearest_get_page(
    moderator_client: Client, org: Organization
) -> None:
    """A form shown again with its errors has the POST-only path in the address bar: the
    toggle must not redirect there (a GET of it is 405)."""
    post_only = reverse("console:filters_add", args=[org.slug, "blacklist"])
    assert moderator_client.get(post_only).status_code == 405
    response = moderator_client.post(PREFERENCES, {"theme": "dark", "next": post_only + "?x=1"})
    back = reverse("console:filters", args=[org.slug])
    assert response["Location"] == back
    assert moderator_client.get(back).status_code == 200


def test_preferences_go_back_to_a_get_page_with_its_query(
    moderator_client: Client, org: Organization
) -> None:
    page = reverse("console:filters", args=[org.slug]) + "?q=bad"
    response = moderator_client.post(PREFERENCES, {"theme": "light", "next": page})
    assert response["Location"] == page


@pytest.mark.django_db
def test_preferences_need_csrf(moderator: Account) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(moderator)
    response = client.post(PREFERENCES, {"theme": "dark"})
    assert response.status_code == 403
    moderator.refresh_from_db()
    assert moderator.theme == "system"


@pytest.mark.django_db
def test_the_help_overlay_and_the_phone_menu_are_in_every_console_page(
    moderator_client: Client, org: Organization
) -> None:
    html = html_of(moderator_client.get(reverse("console:channels", args=[org.slug])))
    assert '<dialog class="shortcut-help" id="shortcut-help"' in html
    assert "data-shortcut-help-open" in html
    assert 'aria-expanded="false" aria-controls="console-nav"' in html
    assert 'id="console-nav"' in html
