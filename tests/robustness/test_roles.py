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

2. Token kinds x API operations: no credential, or a bad one of any header kind (a
   revoked or expired messaging session, a Rocket.Chat token with another member's
   ``X-User-Id`` included) -> 401 on every operation of every surface; this
   organization's own credentials -> 401 only on the surfaces they are not for
   (surfaces.SURFACES: an admin Bearer token on /api/v2/, an API-TOKEN or a
   Personal-Access-Token on /api/messenger/, a member session on /api/messaging/,
   Rocket.Chat's login on /api/v1/), never 401 on their own. Public routes take no
   credential header (routes.Route.public): their key is in the request, and a bad one
   is refused whatever the headers: the messaging API's signed files without a valid
   signature 403 ``invalid_signature``; an incoming URL with a token or uuid that names
   nothing 404, like a missing one; ``/api/v1/login`` with a bad token 401. With this
   organization's own keys they answer whatever the headers (a valid link for the
   session's member serves the file; an incoming URL posts).

3. Member organization roles x messaging operations, with permission rules
   (``OPERATIONS``): each of admin, member, guest and external, a plain member (not the
   owner) of a public channel, tries a sample of operations. Each cell is first asserted
   against the documented default (``DEFAULTS``, docs/api/messaging-permissions.md, kept
   equal to apps/permissions/registry.py here), then with one rule on a role the member
   holds: a ``deny`` turns an allowed cell into 403 ``forbidden``, an ``allow`` turns a
   denied cell into the operation's success. Deny beats allow across two roles, and a
   v2 role's ``permissions`` count as allow rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from apps.audit.actor import Actor
from apps.channels.models import Channel, Membership
from apps.members.models import Member, MemberSession, Role
from apps.members.services import member_session_issue, member_sessions_revoke
from apps.permissions.registry import BY_NAME, CHANNEL, MESSAGING
from apps.permissions.services import role_rules_set
from tests.factories import ChannelFactory, MessageFactory, OrganizationFactory
from tests.personas import (
    MessagingClient,
    MessengerClient,
    RocketChatClient,
    TokenClient,
    make_member,
    session_client,
)

from .routes import Route, api_routes
from .surfaces import PATH_KEYS, SURFACES, surface_of
from .test_cross_org import SIGNED_FILES, _call, console_pages
from .world import (
    Tenant,
    console_client,
    credentials_of,
    unthrottled,
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
    "integration_new_incoming",
    "integration_new_outgoing",
    "integration_new_webhook_url",
    "integration_edit",
    "integration_enabled",
    "integration_regenerate",
    "integration_delete",
    "integration_secret_rotate",
    "integration_redeliver",
    "integration_test_send",
    "role_rules",
    "role_reset",
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
    "channel_members_mute",
    "channel_members_unmute",
    "channel_archive",
    "channel_unarchive",
    "channel_undelete",
    "filters_add",
    "filters_delete",
    "message_delete",
    "staff_add",
    "staff_role",
    "staff_remove",
    "token_issue",
    "token_revoke",
    "integration_enabled",
    "integration_redeliver",
    "integration_test_send",
    "role_rules",
    "role_reset",
    "bulk",
    "bulk_job_undo",
    "undo",
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


BAD_CREDENTIALS: dict[str, Callable[[Tenant], Any]] = {
    "none": lambda acme: TokenClient(None, None),
    "bad_bearer": lambda acme: TokenClient("not-a-token", None),
    "bad_api_token": lambda acme: MessengerClient(api_token="not-a-token"),
    "bad_personal_token": lambda acme: MessengerClient(personal_token="not-a-token"),
    "empty_bearer": lambda acme: _with_header("HTTP_AUTHORIZATION", "Bearer "),
    "basic_scheme": lambda acme: _with_header("HTTP_AUTHORIZATION", "Basic dXNlcjpwYXNz"),
    "revoked_session": lambda acme: _revoked_session(acme),
    "expired_session": lambda acme: _expired_session(acme),
    "bad_rocketchat_token": lambda acme: RocketChatClient("not-a-token", acme.admin_member.user_id),
    # a valid token whose holder is not this user: a pair that does not match
    "rocketchat_other_user": lambda acme: RocketChatClient(
        acme.keys["rc_token"], acme.member.user_id
    ),
    "rocketchat_token_alone": lambda acme: RocketChatClient(acme.keys["rc_token"], None),
}
#: Keys of the public routes that name nothing (a token, a uuid, a login).
BAD_KEYS = {
    "token": "not-a-token",
    "webhookToken": "not-a-token",
    "webhookId": "0b9d1c9e-2f4a-4c1e-9d7b-000000000000",
    "rc_token": "not-a-token",
}
assert set(BAD_KEYS) >= PATH_KEYS


def _with_header(name: str, value: str) -> TokenClient:
    client = TokenClient(None, None)
    client.credentials(**{name: value})
    return client


def _revoked_session(acme: Tenant) -> MessagingClient:
    """A session of acme's member, revoked (with every other of its sessions)."""
    member = Member.objects.create(
        organization=acme.org, user_id="acme-revoked", display_name="Revoked"
    )
    client = session_client(member)
    member_sessions_revoke(actor=Actor.system(), member=member)
    return MessagingClient(token=client.token)


def _expired_session(acme: Tenant) -> MessagingClient:
    issued = member_session_issue(actor=Actor.system(), member=acme.member, ttl=60)
    MemberSession.objects.filter(pk=issued.session.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    return MessagingClient(token=issued.token)


def expected_without_credentials(route: Route) -> int:
    """401 everywhere; a signed file without a valid signature: 403 invalid_signature; an
    incoming URL whose key names nothing: 404, like a missing one."""
    if route.template.startswith(SIGNED_FILES):
        return 403
    if route.public and set(route.params) & PATH_KEYS:
        return 404
    return 401


@pytest.mark.parametrize("credential", sorted(BAD_CREDENTIALS))
def test_missing_or_bad_credentials_are_401_on_every_operation(
    world: dict[str, Any], credential: str
) -> None:
    acme = world["acme"]
    client = BAD_CREDENTIALS[credential](acme)
    routes = api_routes()
    assert {surface_of(r.template).name for r in routes} == {s.name for s in SURFACES}
    failures = [
        f"{route}: {status}, expected {expected_without_credentials(route)}"
        for route in routes
        if (status := _call(client, route, acme, keys=BAD_KEYS).status_code)
        != expected_without_credentials(route)
    ]
    assert not failures, "\n".join(failures)


def test_own_credentials_are_401_only_on_the_other_surfaces(world: dict[str, Any]) -> None:
    acme = world["acme"]
    failures = []
    for kind, client in credentials_of(acme).all().items():
        for route in api_routes():
            # in a savepoint rolled back: an accepted write (a v2 DELETE of acme's user)
            # must not change what the next call sees
            with transaction.atomic(), unthrottled():
                status = _call(client, route, acme).status_code
                transaction.set_rollback(True)
            own_surface = kind in surface_of(route.template).kinds
            if status >= 500:
                failures.append(f"{route} [{kind}]: {status}")
            elif route.template.startswith(SIGNED_FILES):
                # no session: a valid link of the session's member, else a forged one
                want = {200} if own_surface else {403}
                if status not in want:
                    failures.append(f"{route} [{kind}]: {status}, expected {sorted(want)}")
            elif route.public:
                # acme's own key: the call is carried out, whatever the headers say
                if not 200 <= status < 300:
                    failures.append(f"{route} [{kind}]: {status}, expected a 2xx (own key)")
            elif own_surface and status == 401:
                failures.append(f"{route} [{kind}]: 401 on its own surface")
            elif not own_surface and status != 401:
                failures.append(f"{route} [{kind}]: {status}, expected 401")
    assert not failures, "\n".join(failures)


# --- member org roles x messaging operations, with rules -----------------------------------

ORG_ROLES = ("admin", "member", "guest", "external")
#: The documented defaults of the sampled operations (docs/api/messaging-permissions.md):
#: which organization roles may do each, when no rule decides.
DEFAULTS: dict[str, frozenset[str]] = {
    "channel.public.create": frozenset({"admin", "member"}),
    "archive": frozenset({"admin"}),
    "update": frozenset({"admin"}),
    "members.manage": frozenset({"admin"}),
    "message.send": frozenset({"admin", "member", "guest", "external"}),
    "message.delete.all": frozenset({"admin"}),
    "grant": frozenset({"admin"}),
}


@dataclass
class Stage:
    """A public channel owned by an admin, the owner's message in it, a member to invite,
    a role to change (for ``grant``), and one caller per organization role: a joined
    (not owning) member of the channel holding the role ``under-test`` (no rules yet)."""

    channel: Channel
    message_pk: int
    target_pk: int
    other_role: Role
    role: Role
    callers: dict[str, MessagingClient]


@dataclass(frozen=True)
class Operation:
    name: str  # the registry's operation
    resource: str  # MESSAGING or CHANNEL
    ok: int  # the success status
    request: Callable[[Stage], tuple[str, str, dict[str, Any] | None]]


_C = "/api/messaging/channels"
OPERATIONS = [
    Operation("channel.public.create", MESSAGING, 201,
              lambda s: ("post", f"{_C}/", {"name": "roles-new", "type": "public"})),
    Operation("archive", CHANNEL, 200,
              lambda s: ("put", f"{_C}/{s.channel.pk}/state", {"state": "archive"})),
    Operation("update", CHANNEL, 200,
              lambda s: ("put", f"{_C}/{s.channel.pk}", {"topic": "changed"})),
    Operation("members.manage", CHANNEL, 200,
              lambda s: ("post", f"{_C}/{s.channel.pk}/invite", {"userID": [s.target_pk]})),
    Operation("message.send", CHANNEL, 201,
              lambda s: ("post", f"{_C}/{s.channel.pk}/messages/", {"message": "hello"})),
    Operation("message.delete.all", CHANNEL, 200,
              lambda s: ("delete", f"{_C}/{s.channel.pk}/messages/{s.message_pk}", None)),
    Operation("grant", MESSAGING, 200, lambda s: (
        "patch", f"/api/messaging/permissions/{s.other_role.pk}/rules",
        {"rules": [{"resource": "messaging", "operation": "access", "access": "allow"}]},
    )),
]  # fmt: skip


def _stage() -> Stage:
    org = OrganizationFactory(slug="roles", name="Roles")
    owner = make_member(org, Member.OrgRole.ADMIN, user_id="owner")
    channel = ChannelFactory(
        organization=org, channel_id="roles-public", visibility=Channel.Visibility.PUBLIC
    )
    role = Role.objects.create(organization=org, role_id="under-test")
    callers = {}
    now = timezone.now()
    for org_role in ORG_ROLES:
        caller = make_member(org, org_role, user_id=f"as-{org_role}", roles=[role.role_id])
        callers[org_role] = session_client(caller)
    for who in [owner, *(c.member for c in callers.values())]:
        Membership.objects.create(
            organization=org, channel=channel, member=who, joined_at=now, is_owner=who == owner
        )
    return Stage(
        channel=channel,
        message_pk=MessageFactory(channel=channel, author=owner).pk,
        target_pk=make_member(org, user_id="invitee").pk,
        other_role=Role.objects.create(organization=org, role_id="other"),
        role=role,
        callers=callers,
    )


def _try(stage: Stage, op: Operation, org_role: str, rules: list[dict[str, str]]) -> Any:
    """The operation as ``org_role``'s caller with ``rules`` on its role, in a savepoint
    rolled back afterwards (each cell starts from the same stage)."""
    with transaction.atomic():
        if rules:
            role_rules_set(actor=Actor.system(), role=stage.role, rules=rules)
        method, url, body = op.request(stage)
        client = stage.callers[org_role]
        response = getattr(client, method)(url, body, format="json")
        transaction.set_rollback(True)
    return response


def _resource(op: Operation, stage: Stage, *, wildcard: bool) -> str:
    if op.resource == MESSAGING:
        return MESSAGING
    return f"{CHANNEL}:*" if wildcard else f"{CHANNEL}:{stage.channel.pk}"


def _verdict(response: Any, op: Operation, allowed: bool) -> str | None:
    """Why ``response`` is not what the cell wants (None if it is)."""
    code = response.json().get("error", {}).get("code") if response.status_code >= 400 else None
    if allowed and response.status_code != op.ok:
        return f"{response.status_code} {code}, expected {op.ok}"
    if not allowed and (response.status_code, code) != (403, "forbidden"):
        return f"{response.status_code} {code}, expected 403 forbidden"
    return None


def test_the_sampled_defaults_are_the_registrys() -> None:
    """The table of this module is the documented one (and the registry's)."""
    assert {op.name for op in OPERATIONS} == set(DEFAULTS)
    for op in OPERATIONS:
        assert BY_NAME[(op.resource, op.name)].roles == DEFAULTS[op.name], op.name


@pytest.mark.django_db
def test_member_roles_x_messaging_operations_with_rules() -> None:
    stage = _stage()
    failures, cells = [], 0
    for op in OPERATIONS:
        for org_role in ORG_ROLES:
            allowed = org_role in DEFAULTS[op.name]
            # the default, then a rule that flips it: deny on the exact resource, allow
            # on the wildcard (`messaging:channel:*`) for channel operations
            flip = {
                "resource": _resource(op, stage, wildcard=not allowed),
                "operation": op.name,
                "access": "deny" if allowed else "allow",
            }
            for label, rules, want in (("default", [], allowed), ("rule", [flip], not allowed)):
                cells += 1
                problem = _verdict(_try(stage, op, org_role, rules), op, want)
                if problem:
                    extra = f" ({flip['access']} {flip['resource']})" if rules else ""
                    failures.append(f"{op.name} as {org_role} [{label}{extra}]: {problem}")
    assert cells == 2 * len(OPERATIONS) * len(ORG_ROLES)
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
def test_deny_beats_allow_and_v2_permissions_are_allow_rules() -> None:
    stage = _stage()
    archive = next(op for op in OPERATIONS if op.name == "archive")
    # a v2 role's ``permissions`` allow: a plain member may archive
    Role.objects.filter(pk=stage.role.pk).update(permissions=["archive"])
    assert _verdict(_try(stage, archive, "member", []), archive, True) is None
    # a deny rule of a second role of the member beats both
    denier = Role.objects.create(organization=stage.role.organization, role_id="denier")
    role_rules_set(
        actor=Actor.system(),
        role=denier,
        rules=[{"resource": f"{CHANNEL}:*", "operation": "archive", "access": "deny"}],
    )
    member = stage.callers["member"].member
    Member.objects.filter(pk=member.pk).update(roles=[stage.role.role_id, denier.role_id])
    allow = [
        {"resource": f"{CHANNEL}:{stage.channel.pk}", "operation": "archive", "access": "allow"}
    ]
    assert _verdict(_try(stage, archive, "member", allow), archive, False) is None
    # and the admin, allowed by default, is denied by it too
    admin = stage.callers["admin"].member
    Member.objects.filter(pk=admin.pk).update(roles=[denier.role_id])
    assert _verdict(_try(stage, archive, "admin", []), archive, False) is None
