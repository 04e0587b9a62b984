"""Query-count baselines of every page that answers GET: every GET route of the API
surfaces (surfaces.SURFACES; with each kind of credential of its surface: the messaging
API's with a plain member's and an org admin's session, Rocket.Chat's with the org
admin's login) and every console page (as an admin of the organization; the login
page anonymously), read from the URL resolver, so a new route is covered without a new
test.

For each page, on one organization (``acme`` of tests/robustness/world.py):

1. a small world (one batch of rows of every kind: ``add_rows``): one request to warm
   the caches, then the query count of a second request (``CaptureQueriesContext``);
2. GROWTH more batches (more members, channels, memberships, messages, replies, files,
   reactions, reports, rules, roles, tokens, staff, events, chatrooms, audit entries
   and refusal counters; for the messaging API public and private channels with
   owners, invitees and flags, pins, bookmarks, read states, statuses and permission
   rules; on the pages' own detail rows as well), then again;
3. the two counts must be equal (a count that grows with the rows is an N+1), and equal
   to the page's entry in its app's baseline, ``tests/<app>/query_counts.json`` (format:
   tests/robustness/query_counts.py).

A page without an entry, or an entry without a page, fails with the command that
regenerates the baselines: ``--update-query-counts`` (or ``UPDATE_QUERY_COUNTS=1``),
once on SQLite and once on PostgreSQL (the counts may differ per database).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from apps.audit.actor import Actor
from apps.calendar_events.models import CalendarEvent
from apps.calendar_events.services import calendar_event_create, calendar_event_update
from apps.channels.models import Membership
from apps.channels.services.channels import (
    channel_create,
    channel_mute,
    channel_users_add,
    channel_users_ban,
    channel_users_mute,
)
from apps.channels.services.chatrooms import (
    chatroom_avatar_set,
    chatroom_create_custom,
    chatroom_update,
)
from apps.channels.services.conversations import (
    conversation_create,
    conversation_flag_set,
    conversation_members_invite,
)
from apps.integrations.models import Integration
from apps.integrations.services.incoming import history_record
from apps.integrations.services.integrations import integration_create
from apps.members.models import Member
from apps.members.services import member_ban, roles_upsert
from apps.messages.models import Message, MessageTag
from apps.messages.services.bookmarks import message_bookmark
from apps.messages.services.messages import (
    message_create,
    message_create_file,
    message_create_image,
)
from apps.messages.services.pins import message_pin
from apps.messages.services.reactions import reaction_create
from apps.messages.services.reads import channel_mark_read, thread_mark_read
from apps.moderation.models import FilterRefusalDay
from apps.moderation.services import blacklist_records_add, whitelist_records_add
from apps.organizations.models import AccessToken
from apps.organizations.services import (
    organization_token_issue,
    personal_token_issue,
    staff_member_add,
)
from apps.permissions.services import role_rules_set
from apps.presence.services import status_set
from apps.reports.services import report_create
from tests.builders import image_bytes
from tests.factories import AccountFactory, OrganizationFactory
from tests.personas import make_member

from . import query_counts as baselines
from .routes import api_routes, openapi_path, view_methods
from .surfaces import surface_of
from .test_cross_org import path_values
from .test_roles import ADMIN_ONLY
from .world import Tenant, build_tenant, console_client, credentials_of

#: Batches of rows added between the two measurements (the small world has one).
GROWTH = 4
#: (route, credential) not measured, with the reason: the page refuses that caller.
NOT_MEASURED = {
    ("/api/messaging/permissions/{roleID}/rules", "member_session"): "needs `grant`: 403",
    ("/api/messaging/webhooks/{webhookID}", "member_session"): "a plain member manages no "
    "webhook: 404",
    ("/api/messaging/webhooks/{webhookID}/deliveries", "member_session"): "a plain member "
    "manages no webhook: 404",
}
#: Console pages measured without a session; the others as an admin of acme, and the
#: organization's pages that a moderator may open also as a moderator (pages differ by
#: role: a moderator reads an event, an admin gets its edit form).
ANONYMOUS_PAGES = {"/console/login/"}
#: Console pages whose GET is a redirect (measured all the same).
REDIRECTS = {
    "/console/": "the console's home sends a logged-in account to its organization",
    "/console/{org}/filters/try/": "the filter tester is a POST form on the filters page",
}


@dataclass(frozen=True)
class Page:
    """One measured cell: a GET route and the credential it is called with."""

    template: str
    credential: str
    app: str
    name: str | None = None  # the console's url name

    @property
    def key(self) -> str:
        return f"GET {self.template} [{self.credential}]"


def _owning_app(callback: Any) -> str:
    module = callback.__module__
    if not module.startswith("apps."):
        raise AssertionError(f"{module}: not a view of an app under apps/")
    return module.split(".")[1]


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def measured_pages() -> list[Page]:
    """Every GET route under /api/ and /console/, from the URL resolver."""
    pages = []
    for route in (r for r in api_routes() if r.method == "get"):
        # every credential kind of its surface (surfaces.SURFACES)
        kinds = surface_of(route.template).kinds
        if not kinds:
            raise AssertionError(f"{route}: a GET of a surface without credential kinds")
        kinds = [k for k in kinds if (route.template, k) not in NOT_MEASURED]
        pages += [Page(route.template, kind, _owning_app(route.callback)) for kind in kinds]
    for raw, pattern in _walk(get_resolver().url_patterns):
        template = openapi_path(raw)
        if not template.startswith("/console/") or "get" not in view_methods(pattern.callback):
            continue
        if template in ANONYMOUS_PAGES:
            credentials = ["anonymous"]
        elif template.startswith("/console/{org}/") and pattern.name not in ADMIN_ONLY:
            credentials = ["admin", "moderator"]
        else:
            credentials = ["admin"]
        app = _owning_app(pattern.callback)
        pages += [Page(template, c, app, pattern.name) for c in credentials]
    return sorted(pages, key=lambda p: p.key)


# --- the world ---------------------------------------------------------------------------


@dataclass
class Extras:
    """Rows of batch 0 that pages are called on."""

    image_message: Message
    file_message: Message


def add_rows(acme: Tenant, batch: int) -> Extras:
    """One batch of rows of every kind that a page lists, in lists of the organization
    and in the detail rows the pages are called on (acme.channel, acme.member,
    acme.message, acme.report, acme's event and chatroom, the admin's profile)."""
    org = acme.org
    admin = acme.staff["admin"]
    by_admin = Actor(account=admin)
    tag = f"grow-{batch}"
    joiner = make_member(
        org,
        user_id=f"acme-{tag}-joiner",
        display_name=f"Joiner {batch}",
        account=AccountFactory(email=f"joiner-{batch}@acme.test"),
    )
    banned = make_member(org, user_id=f"acme-{tag}-banned", display_name=f"Banned {batch}")
    by_joiner = Actor(account=joiner.account)

    # channels and memberships: a new channel (muted at the end) with acme.member in it;
    # acme.channel gets a member (muted at the end) and one banned there and everywhere
    channel = channel_create(
        organization=org,
        actor=by_admin,
        channel_id=f"acme-{tag}-channel",
        display_name=f"Channel {batch}",
        tags=["grow", tag],
        user_ids=[joiner.user_id, acme.member.user_id],
    )
    channel_users_add(channel=acme.channel, actor=by_admin, user_ids=[joiner.user_id])
    channel_users_ban(
        channel=acme.channel, actor=by_admin, user_ids=[banned.user_id], ban_period=3600
    )
    member_ban(actor=by_admin, member=banned, reason=tag, ban_period=3600)

    # messages: in acme.channel (text with tags, a reply to acme.message, an image, a
    # file), by acme.member in the new channel; reactions and tags on acme.message
    where = acme.channel
    text = message_create(
        organization=org,
        actor=by_joiner,
        channel=where,
        type="text",
        data={"text": f"message {tag}"},
        tags=["grow", tag],
        author=joiner,
    )
    message_create(
        organization=org,
        actor=by_joiner,
        channel=where,
        type="text",
        data={"text": f"reply {tag}"},
        parent_id=str(acme.message.public_id),
        author=joiner,
    )
    message_create(
        organization=org,
        actor=by_admin,
        channel=channel,
        type="text",
        data={"text": f"from bob {tag}"},
        author=acme.member,
    )
    image = message_create_image(
        organization=org,
        actor=by_joiner,
        channel=where,
        upload=SimpleUploadedFile(f"{tag}.png", image_bytes(), content_type="image/png"),
        caption=tag,
        tags=[tag],
    )
    file = message_create_file(
        organization=org,
        actor=by_joiner,
        channel=where,
        upload=SimpleUploadedFile(f"{tag}.txt", b"some text", content_type="text/plain"),
        tags=[tag],
    )
    for message, name in ((acme.message, "like"), (acme.message, tag), (text, "like")):
        reaction_create(organization=org, actor=by_joiner, message=message, reaction_name=name)
    MessageTag.objects.create(message=acme.message, name=tag)

    # reports: on acme.message (as acme.report) and on a user
    report_create(
        organization=org,
        actor=by_joiner,
        reporter=joiner,
        target_member=acme.member,
        target_message=acme.message,
        reason=tag,
    )
    report_create(
        organization=org, actor=by_joiner, reporter=joiner, target_member=banned, reason=tag
    )

    # rules, roles (by a token: audit entries with a token actor), refusal counters
    blacklist_records_add(organization=org, actor=by_admin, patterns=[f"acme-{tag}-word"])
    whitelist_records_add(organization=org, actor=by_admin, patterns=[f"{tag}.example.com"])
    issued = organization_token_issue(
        organization=org, actor=by_admin, name=tag, kind=AccessToken.Kind.ADMIN
    )
    organization_token_issue(organization=org, actor=by_admin, name=tag, kind=AccessToken.Kind.API)
    roles_upsert(
        organization=org,
        actor=Actor(token=issued.token),
        role_ids=[f"role-{tag}"],
        permissions=["read", tag],
    )
    FilterRefusalDay.objects.create(
        organization=org,
        day=timezone.now().date() - timedelta(days=batch),
        blacklisted=batch + 1,
        not_whitelisted=batch,
    )

    # console staff; the admin's personal tokens and memberships in other organizations
    staff_member_add(
        organization=org, actor=by_admin, email=f"staff-{tag}@acme.test", role="moderator"
    )
    personal_token_issue(account=admin, name=tag)
    make_member(
        OrganizationFactory(slug=f"side-{tag}", name=f"Side {batch}"),
        user_id=f"admin-{tag}",
        account=admin,
    )

    # events and chatrooms: a new event and a new custom chatroom; acme's event and
    # chatroom get one more participant / assigned user
    start = timezone.now() + timedelta(days=2 + batch)
    calendar_event_create(
        organization=org,
        actor=by_admin,
        title=f"Event {tag}",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        participants=[joiner, acme.member],
    )
    event = CalendarEvent.objects.get(pk=acme.event_id)
    calendar_event_update(
        event=event, actor=by_admin, participants=[*event.participants.all(), joiner]
    )
    chatroom_create_custom(
        organization=org, actor=by_admin, name=f"Room {tag}", members=[joiner, acme.member]
    )
    assigned = Member.objects.filter(
        pk__in=Membership.objects.filter(channel=acme.chatroom, joined_at__isnull=False).values(
            "member_id"
        )
    )
    chatroom_update(channel=acme.chatroom, actor=by_admin, members=[*assigned, joiner])
    # integrations: a Stackfield URL bound to the new channel, Rocket.Chat ones naming
    # acme.channel; a call in the history of acme's integration
    integration_create(
        organization=org,
        actor=by_admin,
        flavor="stackfield",
        direction="incoming",
        kind="chat-message",
        name=f"Form {tag}",
        channel=channel,
        username=f"acme-{tag}-hook",
    )
    integration_create(
        organization=org,
        actor=by_admin,
        flavor="rocketchat",
        direction="incoming",
        name=f"CI {tag}",
        targets=[f"#{acme.channel.channel_id}"],
        username=f"acme-{tag}-ci",
    )
    integration_create(
        organization=org,
        actor=by_admin,
        flavor="rocketchat",
        direction="outgoing",
        name=f"Out {tag}",
        event="sendMessage",
        urls=[f"https://{tag}.example.com/hook"],
        targets=[f"#{acme.channel.channel_id}"],
    )
    # a messaging API webhook of the new channel; calls in the history of acme's
    # integrations (the console's Stackfield URL, Rocket.Chat's incoming one)
    integration_create(
        organization=org,
        actor=Actor.for_member(acme.admin_member),
        flavor="messaging",
        direction="incoming",
        name=f"Hook {tag}",
        channel=channel,
        bot=joiner,
    )
    for pk in (acme.integration_pk, acme.rc_hook_pk):
        history_record(Integration.objects.get(pk=pk), step="incoming-posted", data={"n": tag})
    # last: nobody posts in a muted channel or while muted
    channel_mute(channel=channel, actor=by_admin, mute_period=3600, reason=tag)
    channel_users_mute(
        channel=acme.channel, actor=by_admin, user_ids=[joiner.user_id], mute_period=3600
    )
    if batch == 0:
        chatroom_avatar_set(channel=acme.chatroom, actor=by_admin, content=image_bytes())
    add_messaging_rows(acme, batch, joiner=joiner, channel=channel, text=text)
    return Extras(image_message=image, file_message=file)


def add_messaging_rows(
    acme: Tenant, batch: int, *, joiner: Member, channel: Any, text: Any
) -> None:
    """The messaging API's rows of one batch: a public channel (owned by a new member,
    with acme's members in it and an invitee) and a private one, flags of acme's member,
    pins, bookmarks and reactions in acme.channel, read states (channel and thread), a
    status, and a rule on acme's role for the new channel."""
    org = acme.org
    tag = f"grow-{batch}"
    owner = make_member(org, user_id=f"acme-{tag}-owner", display_name=f"Owner {batch}")
    invitee = make_member(org, user_id=f"acme-{tag}-invitee", display_name=f"Invitee {batch}")
    public = conversation_create(
        member=owner,
        name=f"public {tag}",
        topic=tag,
        visibility="public",
        members=[acme.member, acme.admin_member],
    )
    conversation_members_invite(channel=public, member=owner, targets=[invitee])
    private = conversation_create(
        member=owner,
        name=f"private {tag}",
        visibility="private",
        members=[acme.member, acme.admin_member, joiner],
    )
    conversation_flag_set(channel=public, member=acme.member, flag="pinned")
    conversation_flag_set(channel=private, member=acme.admin_member, flag="hidden")
    by_owner = Actor.for_member(owner)
    message_create(
        organization=org,
        actor=by_owner,
        channel=public,
        type="text",
        data={"text": f"secret {tag}"},
        author=owner,
    )
    message_create(
        organization=org,
        actor=by_owner,
        channel=private,
        type="text",
        data={"text": f"private secret {tag}"},
        author=owner,
    )
    by_admin_member = Actor.for_member(acme.admin_member)
    for who in (acme.member, acme.admin_member):
        message_bookmark(member=who, message=text)
        reaction_create(
            organization=org,
            actor=Actor.for_member(who),
            message=text,
            reaction_name=f"r{batch}",
            member=who,
        )
    message_pin(organization=org, actor=by_admin_member, member=acme.admin_member, message=text)
    channel_mark_read(member=acme.member, channel=acme.channel)
    channel_mark_read(member=acme.member, channel=channel)
    thread_mark_read(member=acme.member, thread=acme.message)
    status_set(member=owner, icon=":x:", message=f"status {tag}", expires="1h")
    role_rules_set(
        actor=Actor.system(),
        role=acme.role,
        rules=[
            {
                "resource": f"messaging:channel:{public.pk}",
                "operation": "message.pin",
                "access": "allow",
            }
        ],
    )


# --- calling a page ----------------------------------------------------------------------

#: A console page's ``{pk}``, by url name.
CONSOLE_PKS = {
    "filters_edit": lambda acme, extras: acme.rule.pk,
    "event": lambda acme, extras: acme.event_id,
    **{
        name: (lambda acme, extras: acme.integration_pk)
        for name in (
            "integration",
            "integration_edit",
            "integration_regenerate",
            "integration_delete",
            "integration_secret_rotate",
        )
    },
}


#: The member each messaging credential acts as (a signed file is signed for it).
SESSION_MEMBERS = {"member_session": "member", "admin_session": "admin_member"}


def page_url(page: Page, acme: Tenant, extras: Extras) -> tuple[str, dict[str, Any]]:
    """The page's url on acme's ids, and its query string."""
    if page.template.startswith("/console/"):
        values: dict[str, Any] = {
            "org": acme.org.slug,
            "channel_id": acme.channel.channel_id,
            "user_id": acme.member.user_id,
            "report_id": acme.report.pk,
            "kind": "blacklist",
            "role_pk": acme.role.pk,
        }
        if "{pk}" in page.template:
            if page.name not in CONSOLE_PKS:
                raise AssertionError(f"{page.key}: which row's pk? add it to CONSOLE_PKS")
            values["pk"] = CONSOLE_PKS[page.name](acme, extras)
        return page.template.format(**values), {}
    values = path_values(acme)
    if page.template.endswith("/files"):
        values["messageId"] = str(extras.file_message.public_id)
    if page.template.endswith("/images"):
        values["messageId"] = str(extras.image_message.public_id)
    queries = {
        "/api/v2/messages": {"channelId": acme.channel.channel_id},
        "/api/v2/reactions": {
            "referenceId": str(acme.message.public_id),
            "referenceType": "message",
        },
        "/api/v2/reactions/messages/most": {"reactionName": "like"},
        "/api/messenger/chatroom": {"event_id": acme.event_id, "organization_id": acme.org.pk},
        "/api/messenger/chatrooms": {"organization_id": acme.org.pk},
        "/api/messaging/search/messages": {"channelID": acme.channel.pk},
        "/api/v1/integrations.get": {"integrationId": acme.rc_hook_pk},
        "/api/v1/integrations.history": {"id": acme.rc_hook_pk},
    }
    if page.template.startswith("/api/messaging/attachment/"):
        member = getattr(acme, SESSION_MEMBERS[page.credential])
        return page.template.format(**values), acme.signed_link(member)
    return page.template.format(**values), queries.get(page.template, {})


@dataclass
class Measurement:
    status: int
    queries: list[str]

    @property
    def count(self) -> int:
        return len(self.queries)


def _get(client: Any, url: str, query: dict[str, Any]) -> Any:
    response = client.get(url, query)
    if getattr(response, "streaming", False):
        # A CSV export queries while it streams; the test client closes the response
        # (and so the file of a FileResponse) once its content is consumed. Never call
        # response.close() here: its request_finished would close the connection of a
        # test running in a transaction (on PostgreSQL).
        b"".join(response.streaming_content)
    return response


def measure(client: Any, url: str, query: dict[str, Any]) -> Measurement:
    # Warm-up first, then the measured request: the first request of a client may do
    # work the next ones skip (the session's paging state, the token's last_used_at,
    # the content filter's matcher, the organization lookup), none of which grows with
    # rows.
    _get(client, url, query)
    with CaptureQueriesContext(connection) as captured:
        response = _get(client, url, query)
    return Measurement(response.status_code, [q["sql"] for q in captured.captured_queries])


def _shape(sql: str) -> str:
    return re.sub(r"'[^']*'|\b\d+\b|%s", "?", sql)[:300]


def _repeated(small: Measurement, grown: Measurement) -> list[str]:
    """The query shapes that the grown world runs more often than the small one."""
    extra = Counter(map(_shape, grown.queries)) - Counter(map(_shape, small.queries))
    return [f"    {n}x {sql}" for sql, n in extra.most_common(5)]


def _clients(acme: Tenant) -> dict[str, Any]:
    return {
        **credentials_of(acme).all(),
        "admin": console_client(acme.staff["admin"]),
        "moderator": console_client(acme.staff["moderator"]),
        "anonymous": Client(),
    }


def measure_all(pages: list[Page], acme: Tenant, extras: Extras) -> dict[str, Measurement]:
    clients = _clients(acme)
    found = {}
    for page in pages:
        url, query = page_url(page, acme, extras)
        found[page.key] = measure(clients[page.credential], url, query)
    return found


# --- the tests ---------------------------------------------------------------------------


def test_every_surface_and_app_has_measured_pages() -> None:
    pages = measured_pages()
    assert {p.template.split("/")[1] for p in pages} == {"api", "console"}
    assert {p.app for p in pages} >= {"api_v2", "console", "messenger", "messaging", "rocketchat"}
    assert {p.credential for p in pages if p.app == "messaging"} == set(SESSION_MEMBERS)
    assert len(pages) >= 60


def test_query_counts_match_the_baselines_and_do_not_grow_with_rows(
    db: None, request: pytest.FixtureRequest
) -> None:
    update = baselines.update_mode(request.config)
    vendor = connection.vendor
    pages = measured_pages()
    acme = build_tenant("acme")
    extras = add_rows(acme, 0)
    small = measure_all(pages, acme, extras)
    for batch in range(1, GROWTH + 1):
        add_rows(acme, batch)
    grown = measure_all(pages, acme, extras)

    failures = []
    files = {page.app: baselines.load(page.app) for page in pages}
    observed: dict[str, dict[str, baselines.Entry]] = {app: {} for app in files}
    for page in pages:
        before, after = small[page.key], grown[page.key]
        ok = {302} if page.template in REDIRECTS else {200}
        if before.status not in ok or after.status not in ok:
            failures.append(
                f"{page.key}: status {before.status} / {after.status}, expected {sorted(ok)}"
                " (fix page_url: a page must be measured where it succeeds)"
            )
        if after.count != before.count:
            failures.append(
                f"{page.key}: {before.count} queries on the small world, {after.count} with "
                f"{GROWTH} more batches of rows (an N+1); repeated:\n"
                + "\n".join(_repeated(before, after))
            )
        entry = files[page.app].get(page.key)
        observed[page.app][page.key] = baselines.merged(entry, vendor, before.count)
        if update:
            continue
        want = None if entry is None else baselines.expected(entry, vendor)
        if want is None:
            failures.append(
                f"{page.key}: no {vendor} baseline in {baselines.baseline_path(page.app)}"
                f" ({before.count} queries now); regenerate: {baselines.REGENERATE}"
            )
        elif want != before.count:
            failures.append(
                f"{page.key}: {before.count} queries, the {vendor} baseline is {want}; if "
                f"intended, regenerate: {baselines.REGENERATE}; the queries:\n"
                + "\n".join(f"    {sql[:200]}" for sql in before.queries)
            )
    if update:
        for app in baselines.baseline_files().keys() | observed.keys():
            baselines.write(app, observed.get(app, {}))
    assert not failures, "\n".join(failures)


def test_every_measured_page_has_a_baseline_and_every_baseline_a_page(
    request: pytest.FixtureRequest,
) -> None:
    # After the measuring test in this file: in update mode it has just rewritten them.
    wanted: dict[str, set[str]] = {}
    for page in measured_pages():
        wanted.setdefault(page.app, set()).add(page.key)
    stored = {app: set(baselines.load(app)) for app in baselines.baseline_files()}
    problems = []
    for app in sorted(wanted.keys() | stored.keys()):
        path = baselines.baseline_path(app)
        missing = sorted(wanted.get(app, set()) - stored.get(app, set()))
        stale = sorted(stored.get(app, set()) - wanted.get(app, set()))
        problems += [f"{path}: no entry for {key}" for key in missing]
        problems += [f"{path}: stale entry {key} (no such page)" for key in stale]
    assert not problems, "\n".join(problems) + f"\nregenerate: {baselines.REGENERATE}"
