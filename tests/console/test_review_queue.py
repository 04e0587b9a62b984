"""The review queue's count, its live twin (``review/live/``), claims shown as taken,
and the row markup the phone's cards use (``/console/<org>/review/``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.channels.models import Channel
from apps.console.review.live import (
    capped_total,
    count_label,
    live_cursor,
    new_label,
    parse_cursor,
)
from apps.console.selectors import review_groups
from apps.members.models import Member
from apps.organizations.models import Organization
from apps.reports.models import Report
from apps.reports.services import report_create

from ..factories import AccountFactory, ChannelFactory, MemberFactory, MessageFactory


def queue_url(org: Organization) -> str:
    return reverse("console:review", args=[org.slug])


def live_url(org: Organization) -> str:
    return reverse("console:review_live", args=[org.slug])


def reported_message(org: Organization, channel: Channel, n: int) -> Report:
    """A report by an end user on a new message of a new author (a new queue row)."""
    author = MemberFactory(organization=org, user_id=f"author{n}")
    reporter, _ = Member.objects.get_or_create(organization=org, user_id="reporter")
    message = MessageFactory(channel=channel, author=author, data={"text": f"spam {n}"})
    return report_create(
        organization=org,
        actor=Actor.system(),
        reporter=reporter,
        target_member=author,
        target_message=message,
        reason=f"reason {n}",
    )


def reported_user(org: Organization, user_id: str) -> Report:
    target = MemberFactory(organization=org, user_id=user_id)
    return report_create(
        organization=org, actor=Actor.system(), reporter=None, target_member=target, reason="bot"
    )


@pytest.fixture
def channel(org: Organization) -> Channel:
    return ChannelFactory(organization=org, channel_id="general")


def claim(report: Report, account: Account, *, minutes: int) -> None:
    """``account`` holds a claim on the row's report for ``minutes`` (negative: expired)."""
    Report.objects.filter(pk=report.pk).update(
        claimed_by=account, claimed_until=timezone.now() + timedelta(minutes=minutes)
    )


# ------------------------------------------------------------------------------ count


def test_the_queue_shows_how_many_items_wait_and_how_many_match_the_filters(
    moderator_client: Client, org: Organization, other_org: Organization, channel: Channel
) -> None:
    reported_message(org, channel, 1)
    reported_message(org, channel, 2)
    reported_user(org, "dave")
    reported_user(other_org, "eve")  # another tenant: not counted

    html = moderator_client.get(queue_url(org)).content.decode()
    assert '<strong data-live-value="count">3 items</strong> waiting' in html

    response = moderator_client.get(queue_url(org), {"kind": "user"})
    assert response.context["queue_count"] == 1
    assert '<strong data-live-value="count">1 item</strong> matching these filters' in (
        response.content.decode()
    )


def test_an_empty_queue_counts_zero_items(moderator_client: Client, org: Organization) -> None:
    html = moderator_client.get(queue_url(org)).content.decode()
    assert '<strong data-live-value="count">0 items</strong> waiting' in html
    assert "All clear!" in html


def test_the_count_stops_at_its_cap_and_says_so(org: Organization, channel: Channel) -> None:
    for n in range(3):
        reported_message(org, channel, n)
    queryset = review_groups(organization=org)
    assert capped_total(queryset, cap=5) == (3, True)
    assert capped_total(queryset, cap=3) == (3, True)
    assert capped_total(queryset, cap=2) == (2, False)
    assert count_label(2, False) == "2+ items"
    assert count_label(1000, False) == "1,000+ items"
    assert count_label(1, True) == "1 item"


def test_the_count_reads_at_most_the_cap_and_one_rows(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    reported_message(org, channel, 1)
    with CaptureQueriesContext(connection) as ctx:
        moderator_client.get(queue_url(org))
    counts = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
    assert len(counts) == 1
    assert counts[0].endswith("LIMIT 1001) subquery")


# ------------------------------------------------------------------------------ live


def test_the_page_names_its_live_twin_and_loads_live_js_without_inline_code(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    reported_message(org, channel, 1)
    html = moderator_client.get(queue_url(org)).content.decode()
    assert f'data-live-url="{live_url(org)}"' in html
    assert 'data-live-interval="10000"' in html
    assert 'role="status" aria-live="polite" data-live-announce' in html
    assert 'src="/static/console/live.js" defer' in html
    assert "<script>" not in html and "style=" not in html and "<style" not in html


def test_the_live_twin_answers_the_rows_and_the_count_as_json(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    first = reported_message(org, channel, 1)
    second = reported_message(org, channel, 2)
    response = moderator_client.get(live_url(org))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    data = response.json()
    assert data["values"] == {"count": "2 items"}
    assert data["empty"] is False
    rows = data["rows"]
    assert rows.count("<tr data-row-key=") == 2
    assert rows.index(f'data-row-key="{first.pk}"') < rows.index(f'data-row-key="{second.pk}"')
    assert "spam 1" in rows and "<table" not in rows and "<thead" not in rows
    assert parse_cursor(data["since"]) is not None
    assert data["new"] == 0 and data["announce"] == ""  # no cursor sent: nothing is "new"


def test_the_live_twin_keeps_the_pages_filters_and_sort(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    message = reported_message(org, channel, 1)
    user = reported_user(org, "dave")
    data = moderator_client.get(live_url(org), {"kind": "user"}).json()
    assert data["values"] == {"count": "1 item"}
    assert f'data-row-key="{user.pk}"' in data["rows"]
    assert f'data-row-key="{message.pk}"' not in data["rows"]
    rows = moderator_client.get(live_url(org), {"sort": "newest"}).json()["rows"]
    assert rows.index(f'data-row-key="{user.pk}"') < rows.index(f'data-row-key="{message.pk}"')


def test_the_live_twin_announces_the_rows_opened_since_the_cursor(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    reported_message(org, channel, 1)
    page = moderator_client.get(queue_url(org))
    since = page.context["live_since"]
    assert moderator_client.get(live_url(org), {"since": since}).json()["new"] == 0

    reported_message(org, channel, 2)
    reported_user(org, "dave")
    data = moderator_client.get(live_url(org), {"since": since}).json()
    assert data["new"] == 2
    assert data["announce"] == "2 new reports"
    assert data["values"] == {"count": "3 items"}
    # The next cursor is later: the same rows are not announced twice.
    again = moderator_client.get(live_url(org), {"since": data["since"]}).json()
    assert again["new"] == 0 and again["announce"] == ""


def test_a_malformed_cursor_announces_nothing(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    reported_message(org, channel, 1)
    for since in ("yesterday", "2026-13-45T99:00:00", ""):
        data = moderator_client.get(live_url(org), {"since": since}).json()
        assert data["new"] == 0 and data["values"] == {"count": "1 item"}


def test_new_report_labels_are_singular_plural_and_capped() -> None:
    assert new_label(0) == ""
    assert new_label(1) == "1 new report"
    assert new_label(3) == "3 new reports"
    assert new_label(1000, False) == "1,000+ new reports"
    assert parse_cursor(live_cursor()) is not None
    assert parse_cursor("2026-12-06T10:00:00") == parse_cursor("2026-12-06T10:00:00+00:00")


def test_the_live_twin_of_an_empty_queue_says_empty(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    report = reported_message(org, channel, 1)
    Report.objects.filter(pk=report.pk).update(state=Report.State.DISMISSED)
    data = moderator_client.get(live_url(org)).json()
    assert data["empty"] is True and data["rows"].strip() == ""
    assert data["values"] == {"count": "0 items"}


@pytest.mark.parametrize("persona", ["owner_client", "admin_client_", "moderator_client"])
def test_every_console_role_may_read_the_live_twin(
    persona: str, request: pytest.FixtureRequest, org: Organization, channel: Channel
) -> None:
    reported_message(org, channel, 1)
    client: Client = request.getfixturevalue(persona)
    assert client.get(live_url(org)).json()["values"] == {"count": "1 item"}


def test_another_organizations_moderator_gets_404_from_the_live_twin(
    outsider_client: Client, client: Client, org: Organization, channel: Channel
) -> None:
    reported_message(org, channel, 1)
    assert outsider_client.get(live_url(org)).status_code == 404
    response = client.get(live_url(org))  # anonymous: the login page, never JSON
    assert response.status_code == 302 and "/console/login/" in response["Location"]


# ------------------------------------------------------------------------------ claims


def test_an_item_someone_else_claimed_shows_as_taken_until_the_claim_ends(
    moderator_client: Client, moderator: Account, org: Organization, channel: Channel
) -> None:
    taken = reported_message(org, channel, 1)
    mine = reported_message(org, channel, 2)
    expired = reported_message(org, channel, 3)
    free = reported_message(org, channel, 4)
    colleague = AccountFactory(email="colleague@acme.test")
    claim(taken, colleague, minutes=5)
    claim(mine, moderator, minutes=5)  # the viewer's own claim is not "taken"
    claim(expired, colleague, minutes=-1)

    response = moderator_client.get(queue_url(org))
    items = {item.pk: item for item in response.context["page"].items}
    assert items[taken.pk].taken_by == "colleague@acme.test"
    assert items[mine.pk].taken_by == items[expired.pk].taken_by == items[free.pk].taken_by == ""
    html = response.content.decode()
    assert html.count("Taken by colleague@acme.test until") == 1
    assert html.count('class="queue-taken"') == 1
    # The live twin shows the same, and a claim that ends shows as free again.
    rows = moderator_client.get(live_url(org)).json()["rows"]
    assert rows.count("Taken by colleague@acme.test") == 1
    claim(taken, colleague, minutes=-1)
    assert "Taken by" not in moderator_client.get(live_url(org)).json()["rows"]


# ------------------------------------------------------------------------------ markup


def test_every_cell_of_a_row_is_labelled_for_the_phones_cards(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    report = reported_message(org, channel, 1)
    html = moderator_client.get(queue_url(org)).content.decode()
    for label in ("Waiting since", "Reported", "Author / user", "Reports", "First reason"):
        assert f'data-label="{label}"' in html
    assert f'Review<span class="visually-hidden"> report {report.pk}</span>' in html
    assert 'class="queue-review"' in html


# ------------------------------------------------------------------------------ queries


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_the_page_and_its_live_twin_cost_the_same_queries_for_1_and_50_claimed_rows(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    colleagues = [AccountFactory(email=f"colleague{n}@acme.test") for n in range(50)]
    claim(reported_message(org, channel, 0), colleagues[0], minutes=5)
    page_one = _queries(moderator_client, queue_url(org))
    live_one = _queries(moderator_client, live_url(org) + "?since=" + live_cursor())
    for n in range(1, 50):
        claim(reported_message(org, channel, n), colleagues[n], minutes=5)
    assert _queries(moderator_client, queue_url(org)) == page_one
    assert _queries(moderator_client, live_url(org) + "?since=" + live_cursor()) == live_one
    # the page: session + account, the organizations, the role, the rows (claims joined)
    # and the capped count; its live twin: the same, the count of new rows, and no base
    # template around the rows.
