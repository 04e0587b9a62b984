"""Every GET page of the console, read from the URL resolver (so a new page is covered
without a new test), and its URL on a small world with one of everything
(tests/robustness/world.py's ``build_tenant``).

Used by tests/console/test_shell.py (the Content-Security-Policy header) and
tests/e2e/test_console_pages.py (no horizontal scroll, axe-core, CSP violations).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from ..robustness.routes import openapi_path, view_methods
from ..robustness.world import Tenant

#: Console pages for visitors who are not logged in.
ANONYMOUS = {"/console/login/"}
#: Pages that need a state a plain GET does not have: (template) -> why.
SKIPPED: dict[str, str] = {
    "/console/logout/": "POST only (GET is refused)",
}
#: The value of each URL parameter (add a new page's parameter here).
PARAMS: dict[str, Callable[[Tenant], Any]] = {
    "org": lambda t: t.org.slug,
    "channel_id": lambda t: t.channel.channel_id,
    "user_id": lambda t: t.member.user_id,
    "report_id": lambda t: t.report.pk,
    "kind": lambda t: "blacklist",
    "role_pk": lambda t: t.role.pk,
}
#: A page's ``{pk}``, by url name (add a new page with a pk here).
PKS: dict[str, Callable[[Tenant], Any]] = {
    "filters_edit": lambda t: t.rule.pk,
    "event": lambda t: t.event_id,
    **{
        name: (lambda t: t.integration_pk)
        for name in (
            "integration",
            "integration_edit",
            "integration_regenerate",
            "integration_delete",
            "integration_secret_rotate",
        )
    },
}


@dataclass(frozen=True)
class ConsolePage:
    template: str  # /console/{org}/channels/{channel_id}/
    name: str  # the url name, without "console:"

    @property
    def anonymous(self) -> bool:
        return self.template in ANONYMOUS


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def console_get_pages() -> list[ConsolePage]:
    """Every console route whose view answers GET (POST-only actions are not pages)."""
    pages = {
        ConsolePage(openapi_path(raw), pattern.name or "")
        for raw, pattern in _walk(get_resolver().url_patterns)
        if openapi_path(raw).startswith("/console/") and "get" in view_methods(pattern.callback)
    }
    return sorted((p for p in pages if p.template not in SKIPPED), key=lambda p: p.template)


def page_path(page: ConsolePage, tenant: Tenant) -> str:
    """The page's path on the tenant's rows."""
    values: dict[str, Any] = {name: value(tenant) for name, value in PARAMS.items()}
    if "{pk}" in page.template:
        if page.name not in PKS:
            raise AssertionError(f"{page.template} ({page.name}): which row? add it to PKS")
        values["pk"] = PKS[page.name](tenant)
    missing = set(re.findall(r"{(\w+)}", page.template)) - set(values)
    if missing:
        raise AssertionError(
            f"{page.template}: no value for {missing} (tests/console/console_pages.py)"
        )
    return page.template.format(**values)
