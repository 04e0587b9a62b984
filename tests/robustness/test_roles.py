"""Role matrices.

1. Console roles x console pages: every cell asserted from ``expected_console``:

   ===========  =====================  =========================  ==================
   role          moderator pages        admin-only pages (GET)      admin-only (POST)
   ===========  =====================  =========================  ==================
   moderator     200 (405 POST-only)    403                         403
   admin         200 (405 POST-only)    200 (405 POST-only)         allowed (200/302/400)
   owner         as admin               as admin                    allowed
   superuser     as owner               as owner                    allowed
   outsider      404                    404                         404
   ===========  =====================  =========================  ==================

   (outsider: a moderator of the other organization; a 403 would reveal that the
   organization exists.)

2. Token kinds x API operations: no credential, or a bad one of any header kind -> 401
   on every operation of both surfaces; this organization's own credentials -> 401 only
   on the surface they are not for (a Bearer token on /api/messenger/, an API-TOKEN or a
   Personal-Access-Token on /api/v2/), never 401 on their own surface.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.personas import MessengerClient, TokenClient

from .routes import api_routes
from .test_cross_org import _call, console_pages
from .world import (
    Tenant,
    console_client,
    credentials_of,
    world_fixture,  # noqa: F401  (the ``world`` fixture)
)

ADMIN_ONLY = {
    "staff",
    "staff_add",
    "staff_role",
    "staff_remove",
    "tokens",
    "token_issue",
    "token_revoke",
    "settings",
    "event_create",
}
POST_ONLY = {
    "channel_mute",
    "channel_unmute",
    "channel_members_add",
    "channel_members_remove",
    "channel_ban",
    "channel_unban",
    "channel_deletion_set",
    "channel_deletion_clear",
    "filters_add",
    "filters_delete",
    "message_delete",
    "staff_add",
    "staff_role",
    "staff_remove",
    "token_issue",
    "token_revoke",
}
#: Pages without a POST handler (lists): POST is 405 once the role check passed.
GET_ONLY = {"staff", "tokens"}
#: GET redirects (the filter tester is a POST form shown on the filters page).
GET_REDIRECTS = {"filters_try"}
ROLES = ("moderator", "admin", "owner", "superuser", "outsider")
#: Past the role check: the form back (200, or 400 with its errors) or a redirect.
ALLOWED = {200, 302, 400}


def expected_console(role: str, name: str, method: str) -> set[int]:
    if role == "outsider":
        return {404}
    if name in ADMIN_ONLY and role == "moderator":
        return {403}
    if method == "get":
        return {405} if name in POST_ONLY else {302} if name in GET_REDIRECTS else {200}
    return {405} if name in GET_ONLY else ALLOWED


def _console_clients(acme: Tenant, globex: Tenant) -> dict[str, Any]:
    from tests.factories import AccountFactory

    root = AccountFactory(email="root@robustness.test", is_staff=True, is_superuser=True)
    return {
        "moderator": console_client(acme.staff["moderator"]),
        "admin": console_client(acme.staff["admin"]),
        "owner": console_client(acme.staff["owner"]),
        "superuser": console_client(root),
        "outsider": console_client(globex.staff["moderator"]),
    }


def test_every_console_role_on_every_console_page(world: dict[str, Any]) -> None:
    acme, globex = world["acme"], world["globex"]
    clients = _console_clients(acme, globex)
    pages = console_pages(acme)
    names = {name for name, _ in pages}
    assert names >= ADMIN_ONLY and names >= POST_ONLY, "a page of the table is gone"
    failures = []
    cells = 0
    for role in ROLES:
        for name, url in pages:
            methods = ["get", "post"] if name in ADMIN_ONLY else ["get"]
            for method in methods:
                # POSTs carry no data: an allowed role gets the form back (200) or a
                # redirect; nothing valid is submitted, so the world stays the same.
                response = getattr(clients[role], method)(url)
                cells += 1
                if response.status_code not in expected_console(role, name, method):
                    failures.append(
                        f"{method.upper()} {name} as {role}: {response.status_code}, "
                        f"expected {sorted(expected_console(role, name, method))}"
                    )
    assert cells >= len(ROLES) * len(pages)
    assert not failures, "\n".join(failures)


BAD_CREDENTIALS = {
    "none": lambda: TokenClient(None, None),
    "bad_bearer": lambda: TokenClient("not-a-token", None),
    "bad_api_token": lambda: MessengerClient(api_token="not-a-token"),
    "bad_personal_token": lambda: MessengerClient(personal_token="not-a-token"),
    "empty_bearer": lambda: _with_header("HTTP_AUTHORIZATION", "Bearer "),
    "basic_scheme": lambda: _with_header("HTTP_AUTHORIZATION", "Basic dXNlcjpwYXNz"),
}


def _with_header(name: str, value: str) -> TokenClient:
    client = TokenClient(None, None)
    client.credentials(**{name: value})
    return client


@pytest.mark.parametrize("credential", sorted(BAD_CREDENTIALS))
def test_missing_or_bad_credentials_are_401_on_every_operation(
    world: dict[str, Any], credential: str
) -> None:
    acme = world["acme"]
    client = BAD_CREDENTIALS[credential]()
    failures = [
        f"{route}: {status}"
        for route in api_routes()
        if (status := _call(client, route, acme).status_code) != 401
    ]
    assert not failures, "\n".join(failures)


def test_own_credentials_are_401_only_on_the_other_surface(world: dict[str, Any]) -> None:
    acme = world["acme"]
    failures = []
    for kind, client in credentials_of(acme).all().items():
        for route in api_routes():
            status = _call(client, route, acme).status_code
            own_surface = route.template.startswith("/api/v2/") == (kind == "admin_bearer")
            if own_surface and status == 401:
                failures.append(f"{route} [{kind}]: 401 on its own surface")
            if not own_surface and status != 401:
                failures.append(f"{route} [{kind}]: {status}, expected 401")
            if status >= 500:
                failures.append(f"{route} [{kind}]: {status}")
    assert not failures, "\n".join(failures)
