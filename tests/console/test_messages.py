"""The console's message search and message deletion."""

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
from apps.audit.models import AuditEntry
from apps.channels.models import Channel
from apps.members.models import Member
from apps.messages.models import Message
from apps.organizations.models import Organization
from apps.retention import services as retention

from ..factories import ChannelFactory, MemberFactory, MessageFactory


def messages_url(org: Organization) -> str:
    return reverse("console:messages", args=[org.slug])


def delete_url(org: Organization) -> str:
    return reverse("console:message_delete", args=[org.slug])


def flashes(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def texts(response) -> list[str]:
    return [text for _, text, *_urls in response.context["rows"]]


@pytest.fixture
def ann(org: Organization) -> Member:
    return MemberFactory(organization=org, user_id="ann")


@pytest.fixture
def lobby(org: Organization) -> Channel:
    return ChannelFactory(organization=org, channel_id="lobby")


@pytest.fixture
def random_room(org: Organization) -> Channel:
    return ChannelFactory(organization=org, channel_id="random")


def say(channel: Channel, author: Member, text: str, **kw) -> Message:
    return MessageFactory(channel=channel, author=author, data={"text": text}, **kw)


# --- search --------------------------------------------------------------------------------


def test_the_page_lists_messages_across_channels_newest_first(
    moderator_client: Client,
    org: Organization,
    other_org: Organization,
    ann: Member,
    lobby: Channel,
    random_room: Channel,
) -> None:
    say(lobby, ann, "first")
    say(random_room, ann, "second")
    MessageFactory(channel=ChannelFactory(organization=other_org), data={"text": "globex"})
    response = moderator_client.get(messages_url(org))
    assert response.status_code == 200
    assert texts(response) == ["second", "first"]
    assert b"Acme" in response.content and b"newest 10000" in response.content


def test_it_hides_deleted_messages_unless_asked_and_never_shows_closed_channels(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel
) -> None:
    say(lobby, ann, "kept")
    say(lobby, ann, "removed", deleted_at=timezone.now())
    say(lobby, ann, "hidden one", hidden_at=timezone.now())
    closed = ChannelFactory(organization=org, channel_id="gone")
    say(closed, ann, "in a closed channel")
    retention.channel_close(channel=closed, actor=Actor.system())
    assert sorted(texts(moderator_client.get(messages_url(org)))) == ["hidden one", "kept"]
    both = moderator_client.get(messages_url(org), {"deleted": "include"})
    assert sorted(texts(both)) == ["hidden one", "kept", "removed"]
    only = moderator_client.get(messages_url(org), {"deleted": "only"})
    assert texts(only) == ["removed"]
    hidden = moderator_client.get(messages_url(org), {"hidden": "only"})
    assert texts(hidden) == ["hidden one"]
    not_hidden = moderator_client.get(messages_url(org), {"hidden": "exclude"})
    assert texts(not_hidden) == ["kept"]


def test_it_searches_text_channel_and_author(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel, random_room: Channel
) -> None:
    bob = MemberFactory(organization=org, user_id="bob")
    say(lobby, ann, "Buy CHEAP pills")
    say(random_room, bob, "cheap flights")
    say(lobby, bob, "hello")
    found = moderator_client.get(messages_url(org), {"q": "cheap"})
    assert sorted(texts(found)) == ["Buy CHEAP pills", "cheap flights"]
    in_lobby = moderator_client.get(messages_url(org), {"q": "cheap", "channel": "lobby"})
    assert texts(in_lobby) == ["Buy CHEAP pills"]
    by_bob = moderator_client.get(messages_url(org), {"author": "bob"})
    assert sorted(texts(by_bob)) == ["cheap flights", "hello"]


def test_it_filters_by_date_range(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel
) -> None:
    old = say(lobby, ann, "old news")
    Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    say(lobby, ann, "fresh")
    today = timezone.now().date()
    recent = moderator_client.get(messages_url(org), {"since": str(today - timedelta(days=1))})
    assert texts(recent) == ["fresh"]
    older = moderator_client.get(
        messages_url(org),
        {"since": str(today - timedelta(days=11)), "until": str(today - timedelta(days=9))},
    )
    assert texts(older) == ["old news"]


def test_text_search_only_scans_the_newest_messages_and_says_so(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel, monkeypatch
) -> None:
    monkeypatch.setattr("apps.console.messages.views.TEXT_SCAN_LIMIT", 3)
    say(lobby, ann, "needle in the past")
    for i in range(3):
        say(lobby, ann, f"hay {i}")
    say(lobby, ann, "needle today")
    response = moderator_client.get(messages_url(org), {"q": "needle"})
    assert texts(response) == ["needle today"]
    assert b"newest 3 messages" in response.content


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"channel": "nope"}, "No channel"),
        ({"author": "nobody"}, "No user"),
        ({"since": "yesterday"}, "valid date"),
        ({"since": "2024-02-10", "until": "2024-02-01"}, "before the start"),
        ({"q": "x" * 201}, "at most 200"),
    ],
)
def test_bad_search_input_shows_an_error_and_no_rows(
    moderator_client: Client,
    org: Organization,
    ann: Member,
    lobby: Channel,
    params: dict,
    problem: str,
) -> None:
    say(lobby, ann, "something")
    response = moderator_client.get(messages_url(org), params)
    assert response.status_code == 200
    assert texts(response) == []
    assert any(problem in p for p in response.context["problems"])


def test_another_organizations_channel_is_unknown_in_the_search(
    moderator_client: Client, org: Organization, other_org: Organization
) -> None:
    theirs = ChannelFactory(organization=other_org, channel_id="secret")
    MessageFactory(channel=theirs, data={"text": "classified"})
    response = moderator_client.get(messages_url(org), {"channel": "secret"})
    assert texts(response) == [] and b"classified" not in response.content


def test_the_page_pages_through_results(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel
) -> None:
    for i in range(55):
        say(lobby, ann, f"m{i}")
    first = moderator_client.get(messages_url(org), {"channel": "lobby"})
    page = first.context["page"]
    assert len(page.items) == 50 and page.next_cursor
    second = moderator_client.get(
        messages_url(org), {"channel": "lobby", "cursor": page.next_cursor}
    )
    assert texts(second) == [f"m{i}" for i in range(4, -1, -1)]
    oldest = moderator_client.get(messages_url(org), {"sort": "oldest"})
    assert texts(oldest)[0] == "m0"


def test_the_page_runs_as_many_queries_for_30_messages_as_for_1(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel
) -> None:
    say(lobby, ann, "only one")
    with CaptureQueriesContext(connection) as one:
        moderator_client.get(messages_url(org), {"q": "o"})
    for i in range(29):
        author = MemberFactory(organization=org, user_id=f"author-{i}")
        say(ChannelFactory(organization=org), author, f"more {i} o")
    with CaptureQueriesContext(connection) as thirty:
        response = moderator_client.get(messages_url(org), {"q": "o"})
    assert len(response.context["rows"]) == 30
    # The base page's queries, the text window's cutoff, the page (joined with channel
    # and author, open-report counts as a subquery) and its tags prefetch: constant.
    assert len(thirty) == len(one)
    with CaptureQueriesContext(connection) as plain:
        moderator_client.get(messages_url(org))
    assert len(plain) == len(thirty) - 1  # no text search: no cutoff query
    with CaptureQueriesContext(connection) as narrowed:
        moderator_client.get(messages_url(org), {"q": "o", "channel": "lobby", "author": "ann"})
    assert len(narrowed) == len(thirty) + 2  # one lookup each for the channel and author


def test_anonymous_visitors_are_sent_to_the_login_page(
    client: Client, org: Organization, ann: Member, lobby: Channel
) -> None:
    message = say(lobby, ann, "hi")
    response = client.get(messages_url(org))
    assert response.status_code == 302 and reverse("console:login") in response["Location"]
    response = client.post(delete_url(org), {"message_id": str(message.public_id), "reason": "x"})
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.deleted_at is None


# --- deleting ------------------------------------------------------------------------------


def test_a_moderator_deletes_a_message_with_a_reason(
    moderator_client: Client, moderator: Account, org: Organization, ann: Member, lobby: Channel
) -> None:
    message = say(lobby, ann, "offensive")
    back = messages_url(org) + "?q=off"
    response = moderator_client.post(
        delete_url(org),
        {"message_id": str(message.public_id), "reason": "insult", "next": back},
    )
    assert response.status_code == 302 and response["Location"] == back
    followed = moderator_client.get(back)
    assert any("deleted" in m for m in flashes(followed))
    message.refresh_from_db()
    assert message.deleted_at is not None
    entry = AuditEntry.objects.get(action="message.delete")
    assert entry.actor_account == moderator and entry.reason == "insult"
    assert entry.target_id == str(message.public_id)


def test_it_never_redirects_outside_this_organizations_pages(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel
) -> None:
    message = say(lobby, ann, "bye")
    for bad in ("https://evil.example/", "//evil.example/", "/console/globex/", "/admin/"):
        other = say(lobby, ann, "again")
        response = moderator_client.post(
            delete_url(org), {"message_id": str(other.public_id), "reason": "x", "next": bad}
        )
        assert response["Location"] == messages_url(org)
    del message


@pytest.mark.parametrize(
    "data",
    [
        {"reason": "x"},
        {"message_id": "not-a-uuid", "reason": "x"},
        {"message_id": "MSG", "reason": ""},
        {"message_id": "MSG", "reason": "x" * 1001},
    ],
)
def test_a_bad_delete_is_refused_and_changes_nothing(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel, data: dict
) -> None:
    message = say(lobby, ann, "stays")
    if data.get("message_id") == "MSG":
        data = {**data, "message_id": str(message.public_id)}
    response = moderator_client.post(delete_url(org), data, follow=True)
    assert any("Nothing was changed" in m for m in flashes(response))
    message.refresh_from_db()
    assert message.deleted_at is None
    assert not AuditEntry.objects.filter(action="message.delete").exists()


def test_delete_is_a_post_only(moderator_client: Client, org: Organization) -> None:
    assert moderator_client.get(delete_url(org)).status_code == 405


def test_an_outsider_cannot_see_or_delete_this_organizations_messages(
    outsider_client: Client, org: Organization, other_org: Organization, ann: Member, lobby: Channel
) -> None:
    message = say(lobby, ann, "private")
    assert outsider_client.get(messages_url(org)).status_code == 404
    data = {"message_id": str(message.public_id), "reason": "x"}
    assert outsider_client.post(delete_url(org), data).status_code == 404
    # through the outsider's own organization, acme's messageId is unknown
    response = outsider_client.post(delete_url(other_org), data, follow=True)
    assert any("No message" in m for m in flashes(response))
    own = outsider_client.get(messages_url(other_org))
    assert b"private" not in own.content
    message.refresh_from_db()
    assert message.deleted_at is None
    assert not AuditEntry.objects.filter(action="message.delete").exists()
