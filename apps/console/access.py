"""Who may see which organization in the console, and with which role.

An Account sees an organization when it has a StaffRole there (owner, admin,
moderator); a superuser sees every organization as an owner. Anything else — an
unknown slug or another organization's — is a 404, exactly alike (DESIGN.md invariant 1).
"""

from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.backends.utils import csrf_input
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from apps.audit.actor import Actor
from apps.core.throttling import WINDOW, address_retry_after, client_ip
from apps.organizations.models import Organization, StaffRole
from apps.organizations.selectors import (
    staff_organizations,
    staff_role_of,
    token_issue_account_retry_after,
)

Role = StaffRole.Role
#: Whether a role may do what another may (the ranks of ``StaffRole.Role``).
has_role = StaffRole.role_at_least


#: Characters a resolved path keeps unencoded when it is rebuilt (RFC 3986 pchar and "/").
_PATH_SAFE = "/!$&'()*+,;=:@"
#: Rounds of percent-decoding before a path counts as hostile (``%252e`` is ``%2e``...).
_MAX_DECODE_ROUNDS = 4


def _decoded(path: str) -> str | None:
    """``path`` percent-decoded until it no longer changes (None if it does not settle)."""
    for _ in range(_MAX_DECODE_ROUNDS):
        once = unquote(path)
        if once == path:
            return path
        path = once
    return None


def _resolved(decoded: str) -> str:
    """A decoded absolute path as a browser (or a proxy) could end up reading it:
    backslashes as slashes, dot segments and doubled slashes resolved
    (``posixpath.normpath``), the trailing slash of a folder kept."""
    path = decoded.replace("\\", "/")
    resolved = posixpath.normpath(path)
    if resolved != "/" and (path.endswith("/") or path.rsplit("/", 1)[-1] in (".", "..")):
        resolved += "/"  # "a/b/" and "a/b/.." name a folder
    return resolved


def safe_next(request: HttpRequest, slug: str, target: str | None, fallback: str) -> str:
    """Where a console form may send the browser back to: ``target`` if it is a path of
    this organization's console pages (``/console/<slug>/...``), else ``fallback``.

    The path is checked as it will be resolved, not as written: ``..``, ``%2e%2e``,
    backslashes and ``%2f`` cannot climb out of the prefix (``/console/acme/../../admin/``
    is refused). A target that needed resolving but stays inside is answered with its
    resolved form, so the browser goes exactly where this check looked.
    """
    # "/console/<slug>/"
    return _safe_under(request, reverse("console:dashboard", args=[slug]), target, fallback)


def safe_console_next(request: HttpRequest, target: str | None, fallback: str) -> str:
    """As :func:`safe_next` for a form of no organization (the account's preferences):
    ``target`` if it is a path of the console's pages (``/console/...``)."""
    return _safe_under(request, reverse("console:home"), target, fallback)


def _safe_under(request: HttpRequest, prefix: str, target: str | None, fallback: str) -> str:
    if not target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return fallback  # browsers drop tabs and newlines: "/.<TAB>./" would be ".."
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return fallback
    parts = urlsplit(target)
    decoded = _decoded(parts.path)
    if parts.scheme or parts.netloc or decoded is None or not decoded.startswith("/"):
        return fallback
    resolved = _resolved(decoded)
    if not (resolved.startswith(prefix) or resolved + "/" == prefix):
        return fallback
    if resolved == decoded:
        return target  # nothing to resolve: unchanged (keeps its own encoding)
    rebuilt = quote(resolved, safe=_PATH_SAFE)
    if parts.query:
        rebuilt += "?" + parts.query
    if parts.fragment:
        rebuilt += "#" + parts.fragment
    return rebuilt


class ConsoleView(LoginRequiredMixin, View):
    """Base of every page under ``/console/<org>/``.

    Resolves ``self.organization`` from the URL (404 unless the account is staff there),
    refuses with 403 below ``min_role``, and offers ``self.actor`` for services and
    ``self.render(...)`` with the context every console page needs.
    """

    min_role: str = Role.MODERATOR
    #: The navigation entry to highlight (dashboard, review, channels, ...).
    section: str = ""

    organization: Organization
    organizations: list[Organization]
    role: str
    actor: Actor

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        slug = kwargs.pop("org", None)
        # The organization switcher's list (every page shows it) holds this organization
        # whenever the account may open it: one statement for both, not two (issue 15).
        self.organizations = list(staff_organizations(account=request.user))
        organization = next((o for o in self.organizations if o.slug == slug), None)
        role = (
            staff_role_of(account=request.user, organization=organization) if organization else None
        )
        if organization is None or role is None:
            raise Http404("No such organization.")
        if not has_role(role, self.min_role):
            raise PermissionDenied(f"This page needs the {self.min_role} role.")
        self.organization, self.role = organization, role
        self.actor = Actor(account=request.user)
        return super().dispatch(request, *args, **kwargs)

    def context(self, **extra: Any) -> dict[str, Any]:
        return {
            "organization": self.organization,
            "role": self.role,
            "is_org_admin": has_role(self.role, Role.ADMIN),
            "is_org_owner": has_role(self.role, Role.OWNER),
            "console_organizations": self.organizations,
            "section": self.section,
            # The CSRF field rendered once: ``{{ csrf_input }}`` in table rows, where a
            # ``{% csrf_token %}`` per row resolved the lazy token again on every row
            # (issue 15; the base template's logout form needs the token on every page).
            "csrf_input": csrf_input(self.request),
            **extra,
        }

    def render(self, template: str, status: int = 200, **extra: Any) -> HttpResponse:
        return render(self.request, template, self.context(**extra), status=status)


def token_issue_retry_after(request: HttpRequest) -> int | None:
    """None if ``request.user`` may issue a token now, else the seconds to wait: at most
    ``TOKEN_ISSUE_PER_ADDRESS_HOUR`` attempts per client address (counted on every attempt)
    and ``TOKEN_ISSUE_PER_ACCOUNT_HOUR`` tokens per account, per hour."""
    limits = settings.CHATADMIN
    waits = [
        address_retry_after(
            client_ip(request) or "unknown", limits["TOKEN_ISSUE_PER_ADDRESS_HOUR"]
        ),
        token_issue_account_retry_after(
            account_id=request.user.pk, limit=limits["TOKEN_ISSUE_PER_ACCOUNT_HOUR"], window=WINDOW
        ),
    ]
    waits = [wait for wait in waits if wait is not None]
    return max(waits) if waits else None
