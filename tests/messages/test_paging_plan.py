"""Paging a channel's messages is flat both ways (issue 15): the neighbour check of a deep
page (a scalar subquery folded into the page's statement by ``message_query``) walks an
index from the pivot instead of scanning the channel, and a deep page makes the
statements a shallow one makes: one for the page.

The plan tests need PostgreSQL's planner and a channel big enough for it to matter:
the rows are inserted with one ``INSERT ... SELECT generate_series`` and ANALYZEd
(``apps.core.database.analyze``). With the former unordered ``EXISTS`` the planner chose
a sequential scan of the messages table for the deep backward page at this size.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.channels.models import Channel
from apps.core.database import analyze
from apps.messages.models import Message
from apps.messages.selectors.messages import MessagePage, message_query
from apps.organizations.models import Organization
from tests.builders import make_messages
from tests.factories import ChannelFactory, MemberFactory

#: Messages of the big channel: well past the ~10,000 rows where the unordered EXISTS
#: turned into a sequential scan.
BIG = 30_000
#: Messages of a second channel of the same organization, so the channel filter matters.
OTHER = 5_000
PAGE = 25

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the planner under test is PostgreSQL's"
)


def _bulk_messages(channel: Channel, count: int) -> None:
    author = MemberFactory(organization=channel.organization)
    table = connection.ops.quote_name(Message._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (organization_id, channel_id, author_id, public_id, type,"
            " data, children_count, created_at)"
            " SELECT %s, %s, %s, gen_random_uuid(), 'text',"
            " jsonb_build_object('text', 'message ' || g), 0, now()"
            " FROM generate_series(1, %s) g",
            [channel.organization_id, channel.pk, author.pk, count],
        )


@pytest.fixture
def big_channel(org: Organization) -> Channel:
    channel = ChannelFactory(organization=org, channel_id="big")
    _bulk_messages(channel, BIG)
    _bulk_messages(ChannelFactory(organization=org, channel_id="other"), OTHER)
    analyze(Message)
    return channel


def _pk_at(channel: Channel, index: int) -> Message:
    """The channel's message at ``index`` in id order (negative: from the newest)."""
    rows = Message.objects.filter(channel=channel)
    if index >= 0:
        return rows.order_by("pk")[index]
    return rows.order_by("-pk")[-index - 1]


def _deep_page(
    org: Organization, channel: Channel, direction: str
) -> tuple[MessagePage, list[dict[str, str]]]:
    """A deep page and the statements ``message_query`` made for it (the pivot looked up
    before).

    Backwards: the 25 before the 51st-oldest message, page 1,198 of 1,200 from the
    newest; its "next" link needs the neighbour check over everything newer. Forwards:
    the 25 after the 51st-newest, as deep from the oldest; its "previous" link needs the
    check over everything older."""
    if direction == "backward":
        pivot = str(_pk_at(channel, PAGE * 2).public_id)
        with CaptureQueriesContext(connection) as captured:
            page = message_query(organization=org, channel=channel, before=pivot, last=PAGE)
    else:
        pivot = str(_pk_at(channel, -PAGE * 2 - 1).public_id)
        with CaptureQueriesContext(connection) as captured:
            page = message_query(organization=org, channel=channel, after=pivot, first=PAGE)
    return page, captured.captured_queries


def _plans(statements: list[dict[str, str]]) -> list[tuple[str, str]]:
    """(statement, its EXPLAIN text) for each statement that reads the messages table."""
    table = Message._meta.db_table
    found = []
    with connection.cursor() as cursor:
        for statement in statements:
            sql = statement["sql"]
            if f'FROM "{table}"' not in sql:
                continue
            cursor.execute(f"EXPLAIN {sql}")
            found.append((sql, "\n".join(row[0] for row in cursor.fetchall())))
    return found


def _page_statement(statements: list[dict[str, str]]) -> str:
    """The page's statement: the only one ordered by id with ``LIMIT 26`` (25 + 1)."""
    pages = [q["sql"] for q in statements if q["sql"].endswith(f"LIMIT {PAGE + 1}")]
    assert len(pages) == 1, [q["sql"] for q in statements]
    return pages[0]


def _neighbour_plan(plan: str) -> str:
    """The neighbour check's part of the page's plan: the InitPlan (an uncorrelated
    subquery, run once) and the nodes under it."""
    lines = plan.splitlines()
    starts = [i for i, line in enumerate(lines) if "InitPlan" in line]
    assert len(starts) == 1, plan
    indent = len(lines[starts[0]]) - len(lines[starts[0]].lstrip())
    part = [lines[starts[0]]]
    for line in lines[starts[0] + 1 :]:
        if len(line) - len(line.lstrip()) <= indent:
            break
        part.append(line)
    return "\n".join(part)


@postgresql_only
@pytest.mark.parametrize("direction", ["backward", "forward"])
def test_a_deep_pages_neighbour_check_walks_an_index_not_the_table(
    org: Organization, big_channel: Channel, direction: str
) -> None:
    result, statements = _deep_page(org, big_channel, direction)

    assert len(result.items) == PAGE
    assert result.next and result.previous  # the far side is the one checked
    plans = _plans(statements)
    for sql, plan in plans:
        assert f"Seq Scan on {Message._meta.db_table}" not in plan, f"{sql}\n{plan}"
    page_plan = dict(plans)[_page_statement(statements)]
    neighbour = _neighbour_plan(page_plan)
    assert "Index" in neighbour, neighbour
    assert "Limit" in neighbour.splitlines()[1], neighbour


@postgresql_only
def test_analyze_gives_the_planner_the_channels_size(
    org: Organization, big_channel: Channel
) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE relname = %s", [Message._meta.db_table]
        )
        (estimate,) = cursor.fetchone()

    assert estimate >= BIG + OTHER


def test_a_deep_page_makes_the_statements_a_shallow_one_makes(org: Organization) -> None:
    channel = ChannelFactory(organization=org, channel_id="paged")
    messages = make_messages(channel, PAGE * 6)
    pages = {  # (before, after): the pivot
        "shallow backward": (messages[-PAGE - 1], None),
        "deep backward": (messages[PAGE + 1], None),
        "shallow forward": (None, messages[PAGE]),
        "deep forward": (None, messages[-PAGE - 2]),
    }
    counts = {}
    for name, (before, after) in pages.items():
        with CaptureQueriesContext(connection) as captured:
            result = message_query(
                organization=org,
                channel=channel,
                before=str(before.public_id) if before else None,
                after=str(after.public_id) if after else None,
                last=PAGE if before else None,
                first=PAGE if after else None,
            )
        assert len(result.items) == PAGE, name
        assert result.next and result.previous, name
        counts[name] = len(captured)
        # the pivot's lookup, then the page with its neighbour check folded in
        assert len(captured) == 2, name
        assert "beyond" in _page_statement(captured.captured_queries), name

    assert len(set(counts.values())) == 1, counts
