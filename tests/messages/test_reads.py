"""Read state as data (apps.messages.services.reads): unread counts of channels and
threads stay exact across posts, deletes and marks, whatever their order."""

from __future__ import annotations

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.actor import Actor
from apps.channels.models import Channel, Membership
from apps.channels.services.channels import channel_create
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.messages.models import Message, ThreadRead
from apps.messages.services.messages import message_create, message_delete
from apps.messages.services.reads import channel_mark_read, thread_mark_read
from tests.personas import make_member

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()


@pytest.fixture
def people(org) -> list[Member]:
    return [make_member(org, user_id=name) for name in ("ann", "ben", "cid")]


@pytest.fixture
def channel(org, people: list[Member]) -> Channel:
    return channel_create(
        organization=org, actor=SYSTEM, channel_id="room", user_ids=[m.user_id for m in people]
    )


def post(channel: Channel, author: Member, parent: Message | None = None) -> Message:
    return message_create(
        organization=channel.organization,
        actor=Actor.for_member(author),
        channel=channel,
        type=Message.Type.TEXT,
        data={"text": "x"},
        parent_id=str(parent.public_id) if parent else None,
        author=author,
    )


def delete(message: Message) -> None:
    message_delete(organization=message.organization, actor=SYSTEM, message=message)


def channel_unread(channel: Channel, member: Member) -> tuple[int, int]:
    """(as data, as counted from the rows)."""
    channel.refresh_from_db()
    row = Membership.objects.get(channel=channel, member=member)
    live = Message.objects.filter(channel=channel, deleted_at__isnull=True)
    if row.last_read_message_pk is not None:
        live = live.filter(pk__gt=row.last_read_message_pk)
    return max(channel.message_count - row.read_count, 0), live.count()


def thread_unread(thread: Message, member: Member) -> tuple[int, int]:
    thread.refresh_from_db()
    row = ThreadRead.objects.filter(thread=thread, member=member).first()
    live = Message.objects.filter(parent=thread, deleted_at__isnull=True)
    if row is None:
        return thread.children_count, live.count()
    if row.last_read_message_pk is not None:
        live = live.filter(pk__gt=row.last_read_message_pk)
    return max(thread.children_count - row.read_count, 0), live.count()


def test_ones_own_post_is_never_unread_and_others_see_it_unread(
    channel: Channel, people: list[Member]
) -> None:
    ann, ben, _ = people
    post(channel, ann)
    post(channel, ann)
    assert channel_unread(channel, ann) == (0, 0)
    assert channel_unread(channel, ben) == (2, 2)


def test_posting_reads_the_channel_up_to_ones_message(
    channel: Channel, people: list[Member]
) -> None:
    ann, ben, _ = people
    post(channel, ben)
    post(channel, ben)
    assert channel_unread(channel, ann) == (2, 2)
    post(channel, ann)
    assert channel_unread(channel, ann) == (0, 0)


def test_a_post_by_someone_without_membership_changes_no_read_state(org, channel) -> None:
    admin = make_member(org, role=Member.OrgRole.ADMIN, user_id="root")
    post(channel, admin)
    assert not Membership.objects.filter(member=admin).exists()


def test_marks_and_the_answer(channel: Channel, people: list[Member]) -> None:
    ann, ben, _ = people
    messages = [post(channel, ann) for _ in range(4)]
    state = channel_mark_read(member=ben, channel=channel)
    assert (state.count, state.last_read_message_pk) == (0, messages[-1].pk)
    state = channel_mark_read(member=ben, channel=channel, last_read_message_pk=messages[1].pk)
    assert (state.count, state.last_read_message_pk) == (2, messages[1].pk)
    assert channel_unread(channel, ben) == (2, 2)


def test_an_empty_channel_is_read(channel: Channel, people: list[Member]) -> None:
    state = channel_mark_read(member=people[0], channel=channel)
    assert (state.count, state.last_read_message_pk) == (0, None)


def test_only_a_current_member_has_a_channel_read_state(org, channel: Channel) -> None:
    stranger = make_member(org, user_id="stranger")
    with pytest.raises(DomainError) as refused:
        channel_mark_read(member=stranger, channel=channel)
    assert refused.value.code == "not_a_member"


def test_a_mark_never_counts_the_whole_channel(channel: Channel, people: list[Member]) -> None:
    ann, ben, _ = people
    messages = [post(channel, ann) for _ in range(5)]
    with CaptureQueriesContext(connection) as newest:
        channel_mark_read(member=ben, channel=channel)
    assert not any("COUNT(" in q["sql"].upper() for q in newest.captured_queries)
    with CaptureQueriesContext(connection) as marked:
        channel_mark_read(member=ben, channel=channel, last_read_message_pk=messages[2].pk)
    counts = [q["sql"] for q in marked.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and '"id" >' in counts[0]  # only the messages after the mark


@pytest.mark.parametrize("seed", range(5))
def test_unread_counts_stay_exact_whatever_the_order(
    channel: Channel, people: list[Member], seed: int
) -> None:
    rng = random.Random(seed)
    live: list[Message] = []
    threads: list[Message] = []
    for _ in range(60):
        who = rng.choice(people)
        action = rng.random()
        if action < 0.35 or not live:
            parent = rng.choice(threads) if threads and rng.random() < 0.4 else None
            message = post(channel, who, parent)
            live.append(message)
            if parent is None:
                threads.append(message)
        elif action < 0.55:
            victim = live.pop(rng.randrange(len(live)))
            delete(victim)
            if victim in threads:
                threads.remove(victim)
        elif action < 0.8:
            marker = rng.choice([*live, None])
            channel_mark_read(
                member=who,
                channel=channel,
                last_read_message_pk=marker.pk if marker else None,
            )
        elif threads:
            thread = rng.choice(threads)
            replies = [m for m in live if m.parent_id == thread.pk]
            marker = rng.choice([*replies, None])
            thread_mark_read(
                member=who, thread=thread, last_read_message_pk=marker.pk if marker else None
            )
        for member in people:
            data, counted = channel_unread(channel, member)
            assert data == counted, (member.user_id, seed)
            for thread in threads:
                data, counted = thread_unread(thread, member)
                assert data == counted, (member.user_id, thread.pk, seed)


def test_a_reply_counts_in_its_thread_and_its_author_has_read_it(
    channel: Channel, people: list[Member]
) -> None:
    ann, ben, cid = people
    thread = post(channel, ann)
    post(channel, ben, thread)
    post(channel, cid, thread)
    assert thread_unread(thread, ann) == (2, 2)  # no thread read state yet: all unread
    assert thread_unread(thread, ben) == (1, 1)
    assert thread_unread(thread, cid) == (0, 0)
    state = thread_mark_read(member=ann, thread=thread)
    assert state.count == 0
    assert ThreadRead.objects.get(member=ann, thread=thread).read_count == 2


on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent transactions need PostgreSQL"
)


@pytest.mark.django_db(transaction=True)
@on_postgresql
def test_a_mark_is_exact_while_a_post_commits_in_the_middle_of_it(
    org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A post commits between the two reads of a mark (the channel's counter, then the
    messages after the marker): the mark must wait for the post (the channel's share
    lock) or it counts the new message as unread without counting it in the total."""
    import threading

    from django.db import connections, transaction

    from apps.messages.services import reads

    ann, ben = make_member(org, user_id="ann"), make_member(org, user_id="ben")
    channel = channel_create(
        organization=org, actor=SYSTEM, channel_id="busy", user_ids=["ann", "ben"]
    )
    first = post(channel, ann)
    inserted, go_commit, committed = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []
    original = reads._read_upto

    def read_upto_with_a_commit_in_between(*args, **kwargs):
        go_commit.set()  # the total was read: let the post commit now (if it still can)
        committed.wait(timeout=10)
        return original(*args, **kwargs)

    monkeypatch.setattr(reads, "_read_upto", read_upto_with_a_commit_in_between)

    def poster() -> None:
        try:
            with transaction.atomic():
                post(channel, ann)
                inserted.set()
                go_commit.wait(timeout=3)  # a mark that waits for us never says go
            committed.set()
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
            inserted.set()
            committed.set()
        finally:
            connections.close_all()

    def reader() -> None:
        try:
            inserted.wait(timeout=10)
            channel_mark_read(member=ben, channel=channel, last_read_message_pk=first.pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=poster), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert channel_unread(channel, ben) == (1, 1)


@pytest.mark.django_db
def test_a_channel_archived_after_the_posting_check_refuses_the_insert(org) -> None:
    """The posting rule ran on a channel loaded before another request archived it: the
    guarded counter update of the insert sees the archive and nothing is written."""
    from django.utils import timezone

    from apps.audit.actor import Actor
    from apps.channels.models import Channel, Membership
    from apps.core.errors import DomainError
    from apps.messages.models import Message
    from apps.messages.services.messages import message_create
    from tests.factories import ChannelFactory
    from tests.personas import make_member

    author = make_member(org, user_id="writer")
    channel = ChannelFactory(organization=org)
    Membership.objects.create(
        organization=org, channel=channel, member=author, joined_at=timezone.now()
    )
    Channel.objects.filter(pk=channel.pk).update(archived_at=timezone.now())  # meanwhile
    with pytest.raises(DomainError) as refused:
        message_create(
            organization=org,
            actor=Actor.for_member(author),
            channel=channel,  # as loaded before the archive
            type="text",
            data={"text": "too late"},
            author=author,
        )
    assert refused.value.code == "channel_archived"
    assert not Message.objects.filter(channel=channel).exists()
