"""Cross-organization matrix: every route of every surface (surfaces.SURFACES, from the
URL resolver, so a new route is covered without a new test), every method, called with
EACH kind of credential of the OTHER organization (globex) on THIS organization's
(acme's) real ids.

Expected matrix (``expected_statuses``):

================  ===========  ===============  ====================  ===================
credential         /api/v2/     /api/messenger/  /api/messaging/       /api/v1/
================  ===========  ===============  ====================  ===================
admin Bearer       404          401              401                   401
API-TOKEN          401          404              401                   401
member's PAT       401          404, or 403 (*)  401                   401
admin's PAT        401          404              401                   401
member session     401          401              404, or 403 (*)       401
admin session      401          401              404                   401
Rocket.Chat login  401          401              401                   404, or 400 (*)
================  ===========  ===============  ====================  ===================

(*) ``EARLY_REFUSALS``: a check that comes before any lookup (an operation that needs an
admin, a permission), or the surface's answer to a reference that names nothing
(Rocket.Chat's ``error-invalid-channel`` for acme's ``#channel``).

Public routes (routes.Route.public: no credential header) ignore the headers: every
credential kind gets the same answer there. Their key is the caller's own
(world.Tenant.keys): globex's token on acme's id (``/hooks/{integrationId}/{token}``,
``/api/messaging/webhooks/{webhookID}/{webhookToken}``): 404 like a missing one;
globex's Stackfield URL (``/apiwh/{webhookId}``) on acme's ``RoomId``: 404 (4035), like a
missing room; ``POST /api/v1/login`` with globex's token as the password of acme's user:
401 (``PUBLIC_REFUSALS``).

Signed files (``/api/messaging/attachment/...``) take no session: the link's signature
is the credential, checked before any lookup. A messaging session sends a VALID link
signed for its own (globex) member on acme's attachment: 404 ``attachment_not_found``
(the tenancy check); every other credential sends a forged signature: 403
``invalid_signature``. ``test_signed_files_refuse_a_missing_or_forged_signature`` adds
globex's session with no signature and with a forged one.

Operations that take no id of acme at all (creating in the caller's own namespace,
listing the caller's own rows, filters that match nothing of another organization) may
succeed: they are listed in ``OWN_NAMESPACE`` with the reason, and then none of acme's
rows may change and no secret of acme (world.Tenant.secrets) may be in the body.
``{roleID}`` is called with the role's numeric id and with its v2 ``roleId`` (its name).

Every call: never 2xx on acme's ids, never 500, and the database is unchanged (row
count and checksum of every table) whenever the call was refused, but for the entry a
refused incoming call leaves in its own (globex's) integration's history
(hostile.REFUSAL_RECORDS); acme's rows never change.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.urls import reverse

from tests.builders import image_bytes

from .hostile import TenantWriteWatch, operation_of, unexpected_writes
from .routes import Route, api_routes, console_url_names
from .surfaces import PATH_KEYS, SURFACES, surface_of
from .world import (
    Tenant,
    changed,
    console_client,
    snapshot,
    unthrottled,
    world_fixture,  # noqa: F401  (the ``world`` fixture)
)

MESSAGING = "/api/messaging/"
#: Routes authenticated by a signed link, not by a session (apps.messaging.attachments).
SIGNED_FILES = "/api/messaging/attachment/"
#: A signature that signs nothing (the right length and alphabet).
FORGED_SIGNATURE = "0" * 64


def path_values(acme: Tenant) -> dict[str, str]:
    return {
        "channelId": acme.channel.channel_id,
        "messageId": str(acme.message.public_id),
        "userId": acme.member.user_id,
        "ruleId": quote(acme.rule.pattern, safe=""),
        "allowRuleId": quote(acme.allow_rule.pattern, safe=""),
        "roomID": str(acme.chatroom.pk),
        "organizationID": str(acme.org.pk),
        # the messaging API: numeric ids
        "channelID": str(acme.channel.pk),
        "messageID": str(acme.message.pk),
        "userID": str(acme.member.pk),
        "roleID": str(acme.role.pk),
        "attachmentID": str(acme.attachment.pk),
        "name": quote(acme.attachment.name, safe=""),
        "ext": acme.attachment_preview_ext(),
        "command": "shrug",
        "reaction": "like",
        # the integrations: Rocket.Chat's and the messaging API's ids, and acme's keys of
        # the public URLs (a caller of another organization sends its own: _call)
        "integrationId": str(acme.rc_hook_pk),
        "webhookID": str(acme.webhook_pk),
        **{name: acme.keys[name] for name in PATH_KEYS},
    }


def path_variants(route: Route, acme: Tenant) -> list[dict[str, str]]:
    """The path values a route is called with: ``{roleID}`` once as the role's numeric id
    and once as its v2 ``roleId`` (the document's two spellings)."""
    values = path_values(acme)
    if route.template.startswith("/api/v2/whitelist/"):
        values["ruleId"] = values["allowRuleId"]
    variants = [values]
    if "roleID" in route.params:
        variants.append({**values, "roleID": quote(acme.role.role_id, safe="")})
    return variants


def id_parameters(acme: Tenant) -> dict[str, Any]:
    """Every id-taking body/query parameter, set to acme's ids, plus the other required
    fields with valid values, so that only the tenancy check can refuse the call."""
    return {
        "channelId": acme.channel.channel_id,
        "userIds": [acme.member.user_id, acme.admin_member.user_id],
        "userId": acme.member.user_id,
        "referenceId": str(acme.message.public_id),
        "referenceType": "message",
        "reactionName": "like",
        "reporterId": acme.admin_member.user_id,
        "parentId": str(acme.message.public_id),
        "organization_id": acme.org.pk,
        "organizationID": acme.org.pk,
        "assignedUsers": [acme.member.pk],
        "event_id": acme.event_id,
        "ruleIds": [acme.rule.pattern, acme.allow_rule.pattern],
        "ruleId": "renamed.example.com",  # the new pattern: valid for both lists
        "type": "text",
        "data": {"text": "hello"},
        "message": "hello",
        "name": "renamed",
        "displayName": "renamed",
        "mutePeriod": 60,
        "banPeriod": 60,
        "scheduledDeletion": "2999-01-01T00:00:00Z",
        "reason": "cross-org",
        # the messaging API (ids are numeric; lists where the route takes a list)
        "channelID": str(acme.channel.pk),
        "messageID": str(acme.message.pk),
        "threadID": str(acme.message.pk),
        "lastReadMessageID": str(acme.message.pk),
        "replyTo": str(acme.message.pk),
        "afterMessageID": str(acme.message.pk),
        "beforeMessageID": str(acme.message.pk),
        "fromMessageID": str(acme.message.pk),
        "toMessageID": str(acme.message.pk),
        "members": [str(acme.member.pk), str(acme.admin_member.pk)],
        "userID": [str(acme.member.pk)],
        "organisationID": str(acme.org.pk),
        "resource": f"messaging:channel:{acme.channel.pk}",
        "rules": [
            {
                "resource": f"messaging:channel:{acme.channel.pk}",
                "operation": "read",
                "access": "deny",
            },
        ],
        "topic": "cross-org",
        "state": "archive",
        "flag": "pinned",
        "kind": "typing",
        "icon": ":x:",
        "expires": "1h",
        "input": "cross-org",
        "params": ["cross-org"],
        "query": "secret",
        "ttl": 3600,
        # the integrations: Rocket.Chat's (``channel`` by name, ``username`` the member it
        # posts as), an incoming call's text (Rocket.Chat's ``text``, the messaging API's
        # ``content``), a Stackfield room command on acme's channel
        "integrationId": str(acme.rc_hook_pk),
        "id": str(acme.rc_hook_pk),
        "historyId": "1",  # integrations.replayOutgoing: the integration is looked up first
        "channel": f"#{acme.channel.channel_id}",
        "username": acme.member.user_id,
        "text": "hello",
        "content": "hello",
        "Command": "ArchiveRoom",
        "RoomId": acme.channel.channel_id,
    }


def query_string(params: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            continue
        flat[key] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return flat


#: A ``route_parameters`` value that leaves the parameter out of the request.
OMIT = object()


def route_parameters(acme: Tenant) -> dict[str, dict[str, Any]]:
    """Per-operation values that differ from ``id_parameters`` (:data:`OMIT`: left out)."""
    webhook = {"kind": "incoming", "userID": str(acme.member.pk)}
    return {
        "POST /api/v2/channel": {"type": "standard"},
        "POST /api/messaging/channels/": {"type": "public"},
        "PUT /api/messaging/channels/{channelID}": {"type": "public"},
        "POST /api/messaging/webhooks/": webhook,
        "POST /api/messaging/webhooks/{webhookID}": webhook,
        **{
            f"{method} /api/v1/integrations.{name}": {"type": "webhook-incoming"}
            for method, name in (
                ("POST", "create"),
                ("GET", "list"),
                ("PUT", "update"),
                ("POST", "remove"),
            )
        },
        # an incoming call goes where its integration posts (a `channel` of its own is an
        # override, which the integration does not allow: 403)
        "POST /hooks/{integrationId}/{token}": {"channel": OMIT},
    }


#: Public routes whose key travels in the body: (the tenant whose ids are named, the
#: caller's keys) -> the whole body.
KEY_BODIES: dict[str, Any] = {
    # acme's user with the caller's token as its password (Rocket.Chat's user + password)
    "POST /api/v1/login": lambda acme, keys: {
        "user": acme.admin_member.user_id,
        "password": keys["rc_token"],
    },
}
#: Uploads: multipart with a real image (JSON would be a 415 before any lookup), by the
#: name of their file field.
MULTIPART = {
    "POST /api/v2/messages/files": "file",
    "POST /api/v2/messages/images": "file",
    "POST /api/messaging/channels/{channelID}/attach": "upload",
}

#: Operations that take no id of acme, act on the caller's own namespace and so may
#: succeed for globex: then no acme row may change and no acme id may be in the body.
OWN_NAMESPACE: dict[str, str] = {
    "POST /api/v2/channel": "channel ids are chosen per organization: globex creates ITS "
    "own 'acme-secret-channel' (with its own users of those ids); acme's is untouched",
    "GET /api/v2/channels": "globex's channels (filtered by acme's userId: none)",
    "POST /api/v2/channels": "the same query as a POST body",
    "GET /api/v2/users": "globex's users",
    "GET /api/v2/roles": "globex's roles",
    "GET /api/v2/blacklist/records": "globex's blacklist",
    "GET /api/v2/whitelist/records": "globex's whitelist",
    "GET /api/v2/reactions/messages/most": "globex's most reacted messages",
    "POST /api/v2/users/{userId}/sessions": "the v2 provisioning rule: globex's token issues "
    "a session for GLOBEX's member of that userId (created if missing), never acme's "
    "(test_a_session_issued_by_the_other_organization_is_its_own)",
    "GET /api/messaging/channels/": "globex's channel list (its public channels and its "
    "member's); `query` filters by name",
    "GET /api/messaging/commands/": "the commands globex's member may run",
    "GET /api/messaging/permissions/": "the registry of operations (the same everywhere)",
    "GET /api/messaging/status/": "globex's members' current statuses",
    "POST /api/messaging/status/": "sets the caller's own status",
    "DELETE /api/messaging/status/": "clears the caller's own status",
    "GET /api/messaging/search/messages": "acme's ids in the filters match nothing: globex's "
    "own readable messages (the query matches globex's 'globex secret')",
    "GET /api/messaging/search/threads": "as /search/messages: globex's own threads",
    "GET /api/messaging/webhooks/": "globex's webhooks (acme's ids in the filters match none)",
    "GET /api/v1/me": "the caller itself (globex's admin)",
    "GET /api/v1/integrations.list": "globex's Rocket.Chat integrations",
}
#: Refusals that come before any lookup of an id (and so reveal nothing about acme).
EARLY_REFUSALS: dict[tuple[str, str], tuple[int, str]] = {
    ("POST /api/v2/blacklist/records", "admin_bearer"): (400, "takes no id; regexs missing"),
    ("POST /api/v2/whitelist/records", "admin_bearer"): (400, "takes no id; regexs missing"),
    ("PUT /api/v2/roles", "admin_bearer"): (400, "takes no id of acme; publicIds missing"),
    ("POST /api/messenger/chatrooms/{roomID}/messages", "api_token"): (
        400,
        "user_context_required: an API-TOKEN cannot send, whoever's the room",
    ),
    **{
        (f"{method} /api/messaging/permissions/{{roleID}}/rules", "member_session"): (
            403,
            "`grant` is checked before the role is looked up: a plain member learns "
            "nothing of any role, its own organization's included",
        )
        for method in ("GET", "PATCH", "DELETE")
    },
    ("POST /api/messaging/webhooks/", "member_session"): (
        403,
        "`integrations.incoming.manage` is checked before the channel and the bot are looked up",
    ),
    ("POST /api/v1/integrations.create", "rc_login"): (
        400,
        "acme's `#channel` names no channel of globex: error-invalid-channel, as a "
        "missing one (Rocket.Chat's answer)",
    ),
}
#: Public routes that refuse another organization's ids otherwise than with a 404.
PUBLIC_REFUSALS: dict[str, tuple[int, str]] = {
    "POST /api/v1/login": (401, "globex's token is not acme's user's: a login pair that "
                           "does not match"),
}  # fmt: skip


def is_session_kind(kind: str) -> bool:
    return kind in surface_of(MESSAGING).kinds


def expected_statuses(route: Route, kind: str) -> set[int]:
    """The matrix of the module docstring."""
    if route.template.startswith(SIGNED_FILES):
        # a valid link of the caller's own member: the tenancy check; else a forged one
        return {404} if is_session_kind(kind) else {403}
    if route.public:
        # no credential header: the caller's own key on acme's ids, whatever it sends
        return {PUBLIC_REFUSALS.get(str(route), (404, ""))[0]}
    if kind not in surface_of(route.template).kinds:
        return {401}
    early = EARLY_REFUSALS.get((str(route), kind))
    if early:
        return {early[0]}
    return {404}


def signed_query(client: Any, acme: Tenant) -> dict[str, str]:
    """A signed file's query for ``client``: a valid link for the client's own member (a
    messaging client), else a forged signature naming acme's member."""
    member = getattr(client, "member", None)
    if member is not None:
        return acme.signed_link(member)
    forged = acme.signed_link(acme.member)
    return {**forged, "sign": FORGED_SIGNATURE}


def documented(route: Route, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` less what the operation does not document (its query parameters, or its
    body's properties), for the surfaces that refuse or ignore the others."""
    if not surface_of(route.template).documented_only:
        return params
    op = operation_of(route.method, route.template)
    assert op is not None, f"{route}: not in the schema"
    known = set(op.query_params)
    for body in op.bodies.values():
        known |= set(body.get("properties", {}))
    return {name: value for name, value in params.items() if name in known}


def _call(
    client: Any,
    route: Route,
    acme: Tenant,
    values: dict[str, str] | None = None,
    keys: dict[str, str] | None = None,
) -> Any:
    """``route`` on acme's ids as ``client``; a public route with ``keys`` (the caller's:
    acme's own by default) where it takes its key."""
    values = values if values is not None else path_variants(route, acme)[0]
    keys = keys if keys is not None else acme.keys
    if route.public:
        values = {**values, **{name: keys[name] for name in PATH_KEYS if name in route.params}}
    url = route.template.format(**values)
    params = {**id_parameters(acme), **route_parameters(acme).get(str(route), {})}
    params = {name: value for name, value in params.items() if value is not OMIT}
    if str(route) in KEY_BODIES:
        params = KEY_BODIES[str(route)](acme, keys)
    params = documented(route, params)
    if route.template.startswith(SIGNED_FILES):
        return client.get(url, signed_query(client, acme))
    if str(route) in MULTIPART:
        upload = SimpleUploadedFile("a.png", image_bytes(), content_type="image/png")
        flat = {k: v for k, v in query_string(params).items() if not isinstance(v, list)}
        return client.post(url, {**flat, MULTIPART[str(route)]: upload}, format="multipart")
    if route.method == "get":
        return client.get(url, query_string(params))
    if route.method == "delete":
        return client.delete(url + "?" + _urlencode(query_string(params)))
    return getattr(client, route.method)(url, params, format="json")


def _urlencode(params: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return urlencode(params, doseq=True)


def test_the_matrix_covers_every_route_and_every_surface() -> None:
    routes = api_routes()
    assert {surface_of(r.template).name for r in routes} == {s.name for s in SURFACES}
    assert len(routes) >= 100
    # every public route takes its key where the matrices put it
    for route in (r for r in routes if r.public and not r.template.startswith(SIGNED_FILES)):
        assert set(route.params) & PATH_KEYS or str(route) in KEY_BODIES, route


def judge_cell(route: Route, kind: str, acme: Tenant, response: Any, writes: Any) -> list[str]:
    """What is wrong with one cell's answer. ``writes``: (tables changed, acme's tables
    changed) by the call."""
    changed_any, changed_acme = writes
    status = response.status_code
    body = response.content.decode(errors="replace") if not response.streaming else ""
    if status >= 500:
        return [f"{status} {body[:200]}"]
    problems = []
    if 200 <= status < 300:
        if OWN_NAMESPACE.get(str(route)) is None:
            problems.append(f"{status} (a 2xx on acme's ids) {body[:200]}")
        leaked = [s for s in acme.secrets() if s in body]
        if leaked:
            problems.append(f"acme's {leaked} in the response")
        if changed_acme:
            problems.append(f"changed acme's {changed_acme}")
        return problems
    if status not in expected_statuses(route, kind):
        problems.append(f"{status}, expected {sorted(expected_statuses(route, kind))} {body[:200]}")
    if unexpected_writes(changed_any):
        problems.append(f"refused ({status}) but changed {changed_any}")
    if changed_acme:
        problems.append(f"refused ({status}) but changed acme's {changed_acme}")
    if status == 404 and response.get("Content-Type", "").startswith("application/json"):
        json.loads(body)  # a JSON error, not an HTML page
    return problems


def test_another_organizations_credentials_never_reach_this_organizations_rows(
    world: dict[str, Any],
) -> None:
    acme: Tenant = world["acme"]
    # the keys of globex's public URLs, and its Rocket.Chat login token
    keys = world["globex"].keys
    failures: list[str] = []
    cells = [
        (route, values, kind, client)
        for route in api_routes()
        for values in path_variants(route, acme)
        for kind, client in world["creds"].items()
    ]
    for route, values, kind, client in cells:
        # Each cell starts from the same world: the call runs in a savepoint that is
        # rolled back afterwards (so a create of globex's own "acme-..." channel
        # cannot change what the next cell sees). What it wrote is read only if it ran a
        # statement that may write (hostile.TenantWriteWatch: the row count and checksum
        # of every table, and of acme's rows, taken just before the first one).
        watch = TenantWriteWatch(acme.org)
        with transaction.atomic():
            with connection.execute_wrapper(watch), unthrottled():
                response = _call(client, route, acme, values, keys)
            writes = (watch.written(), watch.tenant_written())
            transaction.set_rollback(True)
        variant = f" (roleID={values['roleID']})" if "roleID" in route.params else ""
        failures += [
            f"{route}{variant} as globex {kind}: {problem}"
            for problem in judge_cell(route, kind, acme, response, writes)
        ]
    assert len(cells) >= 7 * len(api_routes())
    assert not failures, "\n".join(failures)


def test_signed_files_refuse_a_missing_or_forged_signature(world: dict[str, Any]) -> None:
    """The attachment routes take no session: globex's session without a signature, with
    a forged one, or with acme's member's link re-signed for another attachment is 403
    ``invalid_signature`` before any lookup; a valid link of globex's own member on
    acme's attachment is 404 ``attachment_not_found`` (acme's file stays acme's)."""
    acme: Tenant = world["acme"]
    session = world["creds"]["member_session"]
    routes = [r for r in api_routes() if r.template.startswith(SIGNED_FILES)]
    assert len(routes) == 2
    own = acme.signed_link(session.member)
    other_file = acme.signed_link(acme.member, acme.file_attachment)
    queries = {
        "no signature": ({}, 403, "invalid_signature"),
        "forged": ({**own, "sign": FORGED_SIGNATURE}, 403, "invalid_signature"),
        "another attachment's": (other_file, 403, "invalid_signature"),
        "expired": ({**own, "expires": "1"}, 403, "invalid_signature"),
        "globex's own valid link": (own, 404, "attachment_not_found"),
    }
    failures = []
    for route in routes:
        url = route.template.format(**path_values(acme))
        for label, (query, status, code) in queries.items():
            before = snapshot()
            response = session.get(url, query)
            body = response.json() if response.get("Content-Type") == "application/json" else {}
            got = (response.status_code, body.get("error", {}).get("code"))
            if got != (status, code):
                failures.append(f"{route} [{label}]: {got}, expected {(status, code)}")
            if changed(before, snapshot()):
                failures.append(f"{route} [{label}]: changed {changed(before, snapshot())}")
    assert not failures, "\n".join(failures)


def test_a_session_issued_by_the_other_organization_is_its_own(world: dict[str, Any]) -> None:
    """``POST /api/v2/users/{userId}/sessions`` with globex's Bearer token and acme's
    userId: a session of GLOBEX's member of that userId (provisioned), which sees
    globex's channels only; acme's member has no new session."""
    from apps.members.models import MemberSession
    from tests.personas import MessagingClient

    acme: Tenant = world["acme"]
    user_id = acme.member.user_id
    before = MemberSession.objects.filter(member=acme.member).count()
    answer = world["creds"]["admin_bearer"].post(
        f"/api/v2/users/{quote(user_id, safe='')}/sessions", {"ttl": 600}, format="json"
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["session"]["userId"] == user_id
    session = MemberSession.objects.select_related("member").latest("pk")
    assert session.member.organization.slug == "globex"
    assert session.member.user_id == user_id and session.member.pk != acme.member.pk
    assert MemberSession.objects.filter(member=acme.member).count() == before
    client = MessagingClient(token=answer.json()["session"]["token"])
    listed = client.get("/api/messaging/channels/")
    assert listed.status_code == 200, listed.content
    body = listed.content.decode()
    assert not [s for s in acme.secrets() if s in body]
    channel = client.get(f"/api/messaging/channels/{acme.channel.pk}")
    assert channel.status_code == 404


def _console_kwargs(params: list[str], acme: Tenant) -> dict[str, Any]:
    values = {
        "org": acme.org.slug,
        "channel_id": acme.channel.channel_id,
        "user_id": acme.member.user_id,
        "report_id": acme.report.pk,
        "pk": acme.rule.pk,
        "role_pk": acme.role.pk,
        "kind": "blacklist",
    }
    return {name: values[name] for name in params}


def console_pages(acme: Tenant) -> list[tuple[str, str]]:
    """(url name, url on acme's slug and ids) of every page under /console/<org>/."""
    pages = []
    for name, params, _ in console_url_names():
        kwargs = _console_kwargs(["org", *params], acme)
        if name in {"staff_role", "staff_remove"}:
            kwargs["pk"] = acme.org.staff.order_by("pk")[0].pk
        if name == "token_revoke":
            kwargs["pk"] = acme.token_pk
        if name == "event":
            kwargs["pk"] = acme.event_id
        if "pk" in kwargs and name.startswith("integration"):
            kwargs["pk"] = acme.integration_pk
        pages.append((name, reverse(f"console:{name}", kwargs=kwargs)))
    return pages


def test_the_other_organizations_moderator_gets_404_on_every_console_page(
    world: dict[str, Any],
) -> None:
    acme: Tenant = world["acme"]
    globex: Tenant = world["globex"]
    failures = []
    for role in ("moderator", "admin", "owner"):
        client = console_client(globex.staff[role])
        for name, url in console_pages(acme):
            for method in ("get", "post"):
                before = snapshot()
                response = getattr(client, method)(url, {"reason": "x", "channel_id": "x"})
                if response.status_code != 404:
                    failures.append(
                        f"{method.upper()} {name} as globex {role}: {response.status_code}"
                    )
                if changed(before, snapshot()):
                    failures.append(
                        f"{method.upper()} {name}: changed {changed(before, snapshot())}"
                    )
    assert len(console_pages(acme)) >= 30
    assert not failures, "\n".join(failures)
