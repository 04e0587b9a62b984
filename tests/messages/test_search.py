"""Message search and history of the messaging API (apps.messages.selectors.search): who
reads what, the filters, keyset paging, the SQLite LIKE fallback and PostgreSQL's
full-text search with its indexes."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.channels.models import Channel, Membership
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.messages.models import Bookmark, Message
from apps.messages.selectors.search import (
    MAX_LIMIT,
    THREAD_REPLIES,
    like_terms,
    messages_search,
    readable_channel_pks,
    threads_search,
)
from apps.organizations.models import Organization
from apps.permissions.models import Rule
from tests.factories import ChannelFactory, MessageFactory, RoleFactory
from tests.personas import make_member

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="full-text search: PostgreSQL only"
)
on_sqlite = pytest.mark.skipif(
    connection.vendor == "postgresql", reason="the LIKE fallback: SQLite only"
)


# --- the scene -----------------------------------------------------------------------------


def join(channel: Channel, member: Member, **kw: Any) -> Membership:
    kw.setdefault("joined_at", timezone.now())
    return Membership.objects.create(
        organization=channel.organization, channel=channel, member=member, **kw
    )


def post(channel: Channel, text: str = "hello", **kw: Any) -> Message:
    kw.setdefault("data", {"text": text})
    return MessageFactory(channel=channel, organization=channel.organization, **kw)


def ids(messages: list[Message]) -> list[int]:
    return [m.pk for m in messages]


def search(org: Organization, member: Member, **kw: Any) -> list[int]:
    return ids(messages_search(organization=org, member=member, **kw))


@pytest.fixture
def alice(org: Organization) -> Member:
    return make_member(org, user_id="alice")


@pytest.fixture
def bob(org: Organization) -> Member:
    return make_member(org, user_id="bob")


@pytest.fixture
def admin(org: Organization) -> Member:
    return make_member(org, role=Member.OrgRole.ADMIN, user_id="root")


@pytest.fixture
def public(org: Organization) -> Channel:
    return ChannelFactory(organization=org, channel_id="public", visibility="public")


@pytest.fixture
def private(org: Organization, bob: Member) -> Channel:
    channel = ChannelFactory(organization=org, channel_id="private", visibility="private")
    join(channel, bob)
    return channel


# --- who reads what ------------------------------------------------------------------------


def test_a_member_reads_public_channels_and_those_it_belongs_to(org, alice, bob, public, private):
    in_public, in_private = post(public), post(private)
    assert search(org, alice) == [in_public.pk]
    assert search(org, bob) == [in_private.pk, in_public.pk]
    assert search(org, alice, channel_ids=[private.pk]) == []


def test_an_invitee_reads_the_channel_it_is_invited_to(org, alice, private):
    join(private, alice, joined_at=None, invited_at=timezone.now())
    message = post(private)
    assert search(org, alice, channel_ids=[private.pk]) == [message.pk]


def test_a_row_that_only_keeps_a_ban_gives_no_access(org, alice, private):
    join(private, alice, joined_at=None, banned_at=timezone.now())
    post(private)
    assert search(org, alice) == []


def test_an_admin_reads_a_private_channel_only_when_it_names_it(org, admin, private):
    message = post(private)
    assert search(org, admin) == []
    assert search(org, admin, channel_ids=[private.pk]) == [message.pk]


@pytest.mark.parametrize(
    "state",
    [
        {"closed_at": timezone.now()},
        {"deleted_at": timezone.now()},
        {"scheduled_deletion_at": timezone.now() - timedelta(seconds=1)},
    ],
    ids=["closed", "deleted", "deletion-due"],
)
def test_a_closed_or_deleted_channel_is_never_read(org, alice, admin, public, state):
    post(public)
    Channel.objects.filter(pk=public.pk).update(**state)
    assert search(org, alice) == []
    assert search(org, admin, channel_ids=[public.pk]) == []


def test_an_archived_channel_is_still_read(org, alice, public):
    message = post(public)
    Channel.objects.filter(pk=public.pk).update(archived_at=timezone.now())
    assert search(org, alice) == [message.pk]


def test_another_organizations_channels_match_nothing(org, other_org, alice):
    theirs = ChannelFactory(organization=other_org, visibility="public")
    post(theirs)
    stranger_admin = make_member(org, role=Member.OrgRole.ADMIN)
    assert search(org, alice, channel_ids=[theirs.pk]) == []
    assert search(org, stranger_admin, channel_ids=[theirs.pk]) == []
    assert threads_search(organization=org, member=alice, channel_ids=[theirs.pk]) == []


def test_a_member_of_another_organization_reads_nothing(org, other_org, public):
    post(public)
    outsider = make_member(other_org)
    assert search(org, outsider) == []


def test_a_deny_rule_on_read_hides_a_channel(org, alice, public):
    other = ChannelFactory(organization=org, visibility="public")
    post(public)
    kept = post(other)
    role = RoleFactory(organization=org, role_id="muzzled")
    Rule.objects.create(
        organization=org,
        role=role,
        resource=f"messaging:channel:{public.pk}",
        operation="read",
        access="deny",
    )
    alice.roles = ["muzzled"]
    alice.save(update_fields=["roles"])
    assert search(org, alice) == [kept.pk]


def test_a_wildcard_deny_beats_an_allow_on_one_channel(org, alice, public):
    post(public)
    role = RoleFactory(organization=org, role_id="locked")
    for resource, access in (
        ("messaging:channel:*", "deny"),
        (f"messaging:channel:{public.pk}", "allow"),
    ):
        Rule.objects.create(
            organization=org, role=role, resource=resource, operation="read", access=access
        )
    alice.roles = ["locked"]
    alice.save(update_fields=["roles"])
    assert readable_channel_pks(organization=org, member=alice) == []


def test_deleted_and_hidden_messages_never_appear(org, alice, public):
    shown = post(public, "needle one")
    post(public, "needle two", deleted_at=timezone.now())
    post(public, "needle three", hidden_at=timezone.now())
    assert search(org, alice) == [shown.pk]
    assert search(org, alice, query="needle") == [shown.pk]


# --- filters -------------------------------------------------------------------------------


def test_without_a_thread_or_query_it_lists_top_level_messages(org, alice, public):
    root = post(public, "root", children_count=1)
    reply = post(public, "reply", parent=root)
    assert search(org, alice) == [root.pk]
    assert search(org, alice, thread_ids=[root.pk]) == [reply.pk]


def test_a_query_finds_replies_too(org, alice, public):
    root = post(public, "the root", children_count=1)
    reply = post(public, "a findable reply", parent=root)
    assert search(org, alice, query="findable") == [reply.pk]


def test_it_filters_by_channel_user_and_type(org, alice, bob, public):
    other = ChannelFactory(organization=org, visibility="public")
    by_bob = post(public, author=bob)
    image = post(public, type="image", data={"caption": "a cat"})
    file = post(other, type="file", data={"name": "report.pdf"})
    assert search(org, alice, channel_ids=[other.pk]) == [file.pk]
    assert search(org, alice, user_ids=[bob.pk]) == [by_bob.pk]
    assert search(org, alice, types=["inlineImage"]) == [image.pk]
    assert search(org, alice, types=["attachment", "text"]) == [file.pk, by_bob.pk]
    assert search(org, alice, types=["channelEvent"]) == []


def test_an_unknown_type_is_refused(org, alice, public):
    with pytest.raises(DomainError) as caught:
        search(org, alice, types=["gif"])
    assert (caught.value.code, caught.value.field) == ("invalid_parameter", "type")


def test_pinned_only_and_bookmarked_only(org, alice, bob, public):
    pinned = post(public, pinned_at=timezone.now())
    mine = post(public)
    bobs = post(public)
    Bookmark.objects.create(organization=org, member=alice, message=mine)
    Bookmark.objects.create(organization=org, member=bob, message=bobs)
    assert search(org, alice, pinned_only=True) == [pinned.pk]
    assert search(org, alice, bookmarked_only=True) == [mine.pk]
    assert search(org, alice, pinned_only=True, bookmarked_only=True) == []


def test_a_bookmark_in_a_channel_no_longer_readable_is_not_shown(org, alice, private):
    message = post(private)
    Bookmark.objects.create(organization=org, member=alice, message=message)
    assert search(org, alice, bookmarked_only=True) == []


# --- paging --------------------------------------------------------------------------------


@pytest.fixture
def history(org, public) -> list[int]:
    return [post(public, f"message {i}").pk for i in range(12)]


def test_it_pages_back_with_before_without_gaps_or_overlaps(org, alice, public, history):
    seen: list[int] = []
    before = None
    while True:
        page = search(org, alice, channel_ids=[public.pk], before=before, limit=5)
        if not page:
            break
        assert page == sorted(page, reverse=True)
        seen += page
        before = page[-1]
    assert seen == history[::-1]


def test_after_takes_the_oldest_window_and_answers_newest_first(org, alice, public, history):
    page = search(org, alice, after=history[2], limit=3)
    assert page == [history[5], history[4], history[3]]
    forward = search(org, alice, after=max(page), limit=3)
    assert forward == [history[8], history[7], history[6]]


def test_from_and_to_are_inclusive_and_combine_with_the_other_bounds(org, alice, history):
    assert search(org, alice, from_=history[3], to=history[5]) == history[5:2:-1]
    assert search(org, alice, from_=history[3], limit=2) == [history[4], history[3]]
    assert search(org, alice, after=history[3], before=history[6]) == [history[5], history[4]]
    assert search(org, alice, to=history[1]) == [history[1], history[0]]
    assert search(org, alice, after=history[6], before=history[3]) == []


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1, True])
def test_it_refuses_a_limit_out_of_range(org, alice, limit):
    with pytest.raises(DomainError) as caught:
        search(org, alice, limit=limit)
    assert caught.value.field == "limit"


def test_it_refuses_an_oversized_query(org, alice, public):
    with pytest.raises(DomainError) as caught:
        search(org, alice, query="x" * 501)
    assert caught.value.field == "query"


def test_a_blank_query_is_a_filtered_list(org, alice, public):
    root = post(public, children_count=1)
    post(public, parent=root)
    assert search(org, alice, query="   ") == [root.pk]


def test_a_page_costs_the_same_number_of_queries_whatever_its_size(
    org, alice, public, django_assert_num_queries
):
    for i in range(60):
        post(public, f"message {i}")
    # the readable channels; the page with its channels (joined)
    with django_assert_num_queries(2):
        assert len(search(org, alice, limit=50)) == 50
    # with a query on PostgreSQL, the hits' ids (up to HITS_READ_WHOLE) then the page's rows
    with django_assert_num_queries(3 if connection.vendor == "postgresql" else 2):
        assert len(search(org, alice, limit=5, query="message")) == 5


# --- threads -------------------------------------------------------------------------------


def test_threads_are_roots_with_replies_each_followed_by_its_newest_replies(org, alice, public):
    lonely = post(public, "no replies")
    old = post(public, "old thread", children_count=THREAD_REPLIES + 2)
    replies = [post(public, f"reply {i}", parent=old).pk for i in range(THREAD_REPLIES + 2)]
    new = post(public, "new thread", children_count=1)
    answer = post(public, "answer", parent=new)
    found = ids(threads_search(organization=org, member=alice))
    assert lonely.pk not in found
    assert found == [new.pk, answer.pk, old.pk, *replies[2:]]


def test_threads_with_a_query_match_the_root_or_a_reply(org, alice, public):
    by_root = post(public, "kettle talk", children_count=1)
    post(public, "yes", parent=by_root)
    by_reply = post(public, "something", children_count=2)
    match = post(public, "about the kettle", parent=by_reply)
    post(public, "gone kettle", parent=by_reply, deleted_at=timezone.now())
    other = post(public, "unrelated", children_count=1)
    post(public, "nothing", parent=other)
    hidden = post(public, "kettle hidden", children_count=1, hidden_at=timezone.now())
    post(public, "kettle reply of a hidden root", parent=hidden)
    found = threads_search(organization=org, member=alice, query="kettle")
    roots = [m.pk for m in found if m.parent_id is None]
    assert roots == [by_reply.pk, by_root.pk]
    assert match.pk in ids(found)


def test_threads_limit_counts_threads(org, alice, public):
    for i in range(3):
        root = post(public, f"thread {i}", children_count=1)
        post(public, "reply", parent=root)
    found = threads_search(organization=org, member=alice, limit=2)
    assert len([m for m in found if m.parent_id is None]) == 2


def test_threads_cost_a_fixed_number_of_queries(org, alice, public, django_assert_num_queries):
    for i in range(5):
        root = post(public, f"thread {i}", children_count=3)
        for _ in range(3):
            post(public, "reply", parent=root)
    # readable channels, roots, replies
    with django_assert_num_queries(3):
        assert len(threads_search(organization=org, member=alice)) == 20


# --- the SQLite fallback ---------------------------------------------------------------------


def test_like_terms_reads_the_websearch_syntax() -> None:
    assert like_terms('big "red dog" -cat or mouse') == [
        [("big", False), ("red dog", False), ("cat", True)],
        [("mouse", False)],
    ]
    assert like_terms("or or") == []
    assert like_terms('-"a  b"') == [[("a b", True)]]


@on_sqlite
def test_like_search_is_case_insensitive_and_reads_caption_and_name(org, alice, public):
    text = post(public, "Hello World")
    image = post(public, type="image", data={"caption": "HELLO there"})
    file = post(public, type="file", data={"name": "hello.txt"})
    post(public, "goodbye")
    assert search(org, alice, query="hello") == [file.pk, image.pk, text.pk]


@on_sqlite
@pytest.mark.parametrize(
    "query, matches",
    [("100%", ["100% sure"]), ("a_b", ["a_b"]), ("50\\", ["50\\50"]), ("%", ["100% sure"])],
)
def test_like_wildcards_in_the_query_match_themselves(org, alice, public, query, matches):
    for text in ("100% sure", "1000 sure", "a_b", "axb", "50\\50", "5050"):
        post(public, text)
    found = messages_search(organization=org, member=alice, query=query)
    assert [m.data["text"] for m in found] == matches


@on_sqlite
def test_like_search_reads_phrases_exclusions_and_or(org, alice, public):
    red_dog = post(public, "a big red dog")
    post(public, "a big dog, red")
    post(public, "a big red dog and a cat")
    mouse = post(public, "a mouse")
    assert search(org, alice, query='big "red dog" -cat or mouse') == [mouse.pk, red_dog.pk]


# --- PostgreSQL full-text search -----------------------------------------------------------


@on_postgresql
def test_full_text_search_uses_the_organizations_language(alice, public):
    org = public.organization
    Organization.objects.filter(pk=org.pk).update(search_language="english")
    org.refresh_from_db()
    running = post(public, "She was running home")
    nothing = post(public, "nothing here")
    assert search(org, alice, query="runs") == [running.pk]
    assert search(org, alice, query='"running home"') == [running.pk]
    assert search(org, alice, query='"home running"') == []
    assert search(org, alice, query="home -running") == []
    assert search(org, alice, query="home or nothing") == [nothing.pk, running.pk]


@on_postgresql
def test_full_text_search_in_simple_does_not_stem(org, alice, public):
    running = post(public, "Running home")
    assert search(org, alice, query="runs") == []
    assert search(org, alice, query="RUNNING") == [running.pk]


@on_postgresql
def test_a_query_of_operators_only_is_safe(org, alice, public):
    post(public, "text")
    for query in ("!!", "'; DROP TABLE x; --", "& | <->", '"', "-"):
        assert search(org, alice, query=query) == []


def _seed(channel: Channel, count: int, word_every: int, *, noise: Channel | None = None) -> None:
    """``count`` messages, every ``word_every``-th one with "needle"; with ``noise``, 19 of
    every 20 of them go there instead of ``channel`` (interleaved, as in real traffic)."""
    org_id, author = channel.organization_id, make_member(channel.organization).pk
    target = "%s" if noise is None else "CASE WHEN g %% 20 = 0 THEN %s ELSE %s END"
    channels = [channel.pk] if noise is None else [channel.pk, noise.pk]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO chat_messages_message (organization_id, channel_id, author_id,"
            " public_id, type, data, children_count, created_at) "
            f"SELECT %s, {target}, %s, gen_random_uuid(), 'text', jsonb_build_object('text',"
            " 'message ' || g || CASE WHEN g %% %s = 0 THEN ' needle' ELSE '' END), 0, now()"
            " FROM generate_series(1, %s) g",
            [org_id, *channels, author, word_every, count],
        )
        cursor.execute("ANALYZE chat_messages_message")


def _plan(queryset: Any) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@on_postgresql
def test_a_rare_word_is_found_through_the_gin_index(org, alice, public):
    _seed(public, 20_000, 5_000)
    with CaptureQueriesContext(connection) as captured:
        found = search(org, alice, query="needle")
    assert len(found) == 4
    hits = next(q["sql"] for q in captured.captured_queries if "MATERIALIZED" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {hits}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "message_search" in plan, plan


@on_postgresql
@pytest.mark.parametrize("read_whole", [1_000, 3], ids=["few-hits", "many-hits"])
def test_both_ways_of_a_text_search_give_the_same_pages(org, alice, public, read_whole):
    """Few hits: read whole, the page taken in Python; many: the ordered query."""
    pks = [post(public, f"word {i}").pk for i in range(8)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("apps.messages.selectors.search.HITS_READ_WHOLE", read_whole)
        assert search(org, alice, query="word", limit=3) == pks[:4:-1]
        assert search(org, alice, query="word", before=pks[5], limit=2) == [pks[4], pks[3]]
        assert search(org, alice, query="word", after=pks[1], limit=2) == [pks[3], pks[2]]
        assert search(org, alice, query="word", from_=pks[6]) == [pks[7], pks[6]]
        root = post(public, "word root", children_count=1)
        post(public, "word reply", parent=root)
        threads = threads_search(organization=org, member=alice, query="word")
        assert ids(threads)[0] == root.pk


def _rows_read(sql: str) -> tuple[int, bool]:
    """(rows the plan's scans read, whether it sorts) of ``sql``, run with EXPLAIN ANALYZE:
    the page's own plan, without the subplans that read each page row's reactions,
    bookmark and repliers (``with_render_context``; a few rows per message)."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    read, sorts, nodes = 0, False, [plan[0]["Plan"]]
    while nodes:
        node = nodes.pop()
        sorts = sorts or "Sort" in node["Node Type"]
        if "Scan" in node["Node Type"]:
            read += node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
        nodes.extend(p for p in node.get("Plans", []) if p.get("Parent Relationship") != "SubPlan")
    return read, sorts


@on_postgresql
def test_a_history_page_reads_a_bounded_number_of_rows_at_any_depth(org, alice, public):
    """A page is an index range scan that stops after ``limit`` hits: on (channel, id), or
    on the primary key from ``beforeMessageID`` down with the channel as a filter when the
    planner finds that cheaper (it reads rows in heap order). Never a sort of the rows
    below ``beforeMessageID``: a page deep in the history costs what a recent one does."""
    _seed(public, 40_000, 5_000, noise=ChannelFactory(organization=org))
    pks = list(Message.objects.filter(channel=public).order_by("pk").values_list("pk", flat=True))
    assert len(pks) == 2_000
    for before in (None, pks[1_000], pks[100]):
        with CaptureQueriesContext(connection) as captured:
            page = search(org, alice, channel_ids=[public.pk], before=before)
        assert len(page) == 50
        read, sorts = _rows_read(captured.captured_queries[-1]["sql"])
        # 50 rows from the channel's index, or ~20 rows a hit on the primary key (the
        # channel has 1 message in 20): never the 1,000+ rows below ``before``
        assert not sorts and read <= 1_200, (before, read)


@on_postgresql
def test_full_text_search_of_threads_reads_replies_in_a_subquery(org, alice, public):
    root = post(public, "plain", children_count=1)
    post(public, "the zebra reply", parent=root)
    found = threads_search(organization=org, member=alice, query="zebra")
    assert ids(found)[0] == root.pk
