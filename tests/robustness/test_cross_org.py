"""Cross-organization matrix: every route under /api/ (from the URL resolver, so a new
route is covered without a new test), every method, called with EACH kind of credential
of the OTHER organization (globex) on THIS organization's (acme's) real ids.

Expected matrix (``expected_statuses``):

================  ===================  =====================================
credential         /api/v2/...          /api/messenger/...
================  ===================  =====================================
admin Bearer       404                  401 (surface takes API-TOKEN / PAT)
API-TOKEN          401 (Bearer only)    404
member's PAT       401 (Bearer only)    404, or 403 where the operation needs
                                        an admin (checked before the lookup)
admin's PAT        401 (Bearer only)    404
================  ===================  =====================================

Operations that take no id of acme at all (creating in the caller's own namespace,
listing the caller's own rows) may succeed: they are listed in ``OWN_NAMESPACE`` with
the reason, and then none of acme's rows may change and no acme id may be in the body.

Every call: never 2xx on acme's ids, never 500, and the database is unchanged (row
count and checksum of every table) whenever the call was refused.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from tests.builders import image_bytes

from .routes import Route, api_routes, console_url_names
from .world import (
    Tenant,
    changed,
    console_client,
    snapshot,
    tenant_snapshot,
    world_fixture,  # noqa: F401  (the ``world`` fixture)
)

V2, MESSENGER = "/api/v2/", "/api/messenger/"
BEARER_ONLY = {"admin_bearer"}
MESSENGER_KINDS = {"api_token", "member_pat", "admin_pat"}


def path_values(acme: Tenant) -> dict[str, str]:
    return {
        "channelId": acme.channel.channel_id,
        "messageId": str(acme.message.public_id),
        "userId": acme.member.user_id,
        "ruleId": quote(acme.rule.pattern, safe=""),
        "allowRuleId": quote(acme.allow_rule.pattern, safe=""),
        "roomID": str(acme.chatroom.pk),
        "organizationID": str(acme.org.pk),
    }


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
    }


def query_string(params: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            continue
        flat[key] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return flat


#: Per-operation values that differ from ``id_parameters``.
ROUTE_PARAMETERS: dict[str, dict[str, Any]] = {
    "POST /api/v2/channel": {"type": "standard"},
}
#: Uploads: multipart with a real image (JSON would be a 415 before any lookup).
MULTIPART = {"POST /api/v2/messages/files", "POST /api/v2/messages/images"}

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
}


def expected_statuses(route: Route, kind: str) -> set[int]:
    """The matrix of the module docstring."""
    surface_v2 = route.template.startswith(V2)
    if surface_v2 and kind not in BEARER_ONLY:
        return {401}
    if not surface_v2 and kind not in MESSENGER_KINDS:
        return {401}
    early = EARLY_REFUSALS.get((str(route), kind))
    if early:
        return {early[0]}
    return {404}


def _call(client: Any, route: Route, acme: Tenant) -> Any:
    values = path_values(acme)
    if route.template.startswith("/api/v2/whitelist/"):
        values["ruleId"] = values["allowRuleId"]
    url = route.template.format(**values)
    params = {**id_parameters(acme), **ROUTE_PARAMETERS.get(str(route), {})}
    if str(route) in MULTIPART:
        upload = SimpleUploadedFile("a.png", image_bytes(), content_type="image/png")
        flat = {k: v for k, v in query_string(params).items() if not isinstance(v, list)}
        return client.post(url, {**flat, "file": upload}, format="multipart")
    if route.method == "get":
        return client.get(url, query_string(params))
    if route.method == "delete":
        return client.delete(url + "?" + _urlencode(query_string(params)))
    return getattr(client, route.method)(url, params, format="json")


def _urlencode(params: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return urlencode(params, doseq=True)


def test_the_matrix_covers_every_route_and_both_surfaces() -> None:
    routes = api_routes()
    assert {r.template.split("/")[2] for r in routes} == {"v2", "messenger"}
    assert len(routes) >= 50


def test_another_organizations_credentials_never_reach_this_organizations_rows(
    world: dict[str, Any],
) -> None:
    acme: Tenant = world["acme"]
    failures: list[str] = []
    observed: list[str] = []
    for route in api_routes():
        for kind, client in world["creds"].items():
            # Each cell starts from the same world: the call runs in a savepoint that is
            # rolled back afterwards (so a create of globex's own "acme-..." channel
            # cannot change what the next cell sees).
            with transaction.atomic():
                before, before_acme = snapshot(), tenant_snapshot(acme.org)
                response = _call(client, route, acme)
                after, after_acme = snapshot(), tenant_snapshot(acme.org)
                transaction.set_rollback(True)
            status = response.status_code
            observed.append(f"{route} [{kind}] -> {status}")
            cell = f"{route} as globex {kind}"
            body = response.content.decode(errors="replace")
            if status >= 500:
                failures.append(f"{cell}: {status} {body[:200]}")
                continue
            if 200 <= status < 300:
                reason = OWN_NAMESPACE.get(str(route))
                if reason is None:
                    failures.append(f"{cell}: {status} (a 2xx on acme's ids) {body[:200]}")
                leaked = [s for s in acme.secrets() if s in body]
                if leaked:
                    failures.append(f"{cell}: acme's {leaked} in the response")
                if changed(before_acme, after_acme):
                    failures.append(f"{cell}: changed acme's {changed(before_acme, after_acme)}")
                continue
            if status not in expected_statuses(route, kind):
                failures.append(
                    f"{cell}: {status}, expected {sorted(expected_statuses(route, kind))}"
                    f" {body[:200]}"
                )
            if changed(before, after):
                failures.append(f"{cell}: refused ({status}) but changed {changed(before, after)}")
            if status == 404 and response.get("Content-Type", "").startswith("application/json"):
                json.loads(body)  # a JSON error, not an HTML page
    del observed
    assert not failures, "\n".join(failures)


def _console_kwargs(params: list[str], acme: Tenant) -> dict[str, Any]:
    values = {
        "org": acme.org.slug,
        "channel_id": acme.channel.channel_id,
        "user_id": acme.member.user_id,
        "report_id": acme.report.pk,
        "pk": acme.rule.pk,
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
