"""Read state: unread counts of channels and threads, kept as data (messaging API).

A member's unread count in a channel is ``channel.message_count - membership.read_count``
and in a thread ``thread.children_count - threadread.read_count`` (clamped at 0), so no
request counts a channel's messages. The invariant kept here, exact under concurrent
posts and deletes:

    ``read_count`` = the live (not deleted) messages of the channel (replies of the
    thread) whose primary key is at most ``last_read_message_pk``.

- a post (:func:`reads_after_post`, in the post's transaction): its author has read the
  channel (the thread) up to its own message, so one's own message is never unread;
- a delete (:func:`reads_after_delete`): every reader who had read past the deleted
  message has one read message less;
- marking read (:func:`channel_mark_read`, :func:`thread_mark_read`): ``read_count`` is
  the channel's ``message_count`` minus the live messages newer than the marker (a count
  of the unread part only, never of the whole channel).

Posts and deletes change a channel's counter (and a thread's parent) under a row lock
before they touch a message; marking read holds a share lock on the same row, so it sees
either all of a concurrent post or none of it, and primary keys grow in commit order.
Not audited: read state is private to the member.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, connection, models, transaction
from django.db.models import F, Subquery

from apps.channels.models import Channel, Membership, membership_current_q
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.messages.models import Message, ThreadRead


@dataclass(frozen=True)
class ReadState:
    """What a member has read: its unread ``count`` and the last read message's pk."""

    count: int
    last_read_message_pk: int | None


def _hold(model: type[models.Model], pk: int) -> None:
    """A share lock on one row until the transaction ends (PostgreSQL; SQLite runs one
    writer at a time, which gives the same order)."""
    if connection.vendor != "postgresql":
        return
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR SHARE", [pk])


def reads_after_post(*, message: Message, author: Member, in_channel: bool = True) -> None:
    """In the post's transaction, after the channel's (and the parent's) counter went up:
    the author has read the channel, and the thread of a reply, up to ``message``.
    ``in_channel``: False when the post's own read found no row of the author in the
    channel (an admin posting from outside): nothing to move there."""
    if in_channel:
        Membership.objects.filter(channel_id=message.channel_id, member=author).update(
            read_count=Subquery(
                Channel.objects.filter(pk=message.channel_id).values("message_count")[:1]
            ),
            last_read_message_pk=message.pk,
        )
    if message.parent_id is None:
        return
    children = (
        Message.objects.filter(pk=message.parent_id)
        .values_list("children_count", flat=True)
        .first()
    ) or 0
    _thread_read_set(
        member=author, thread_pk=message.parent_id, read_count=children, last=message.pk
    )


def reads_after_delete(*, message: Message) -> None:
    """In the delete's transaction, after the counters went down: whoever had read past
    ``message`` has one read message less (in the channel, and in its thread)."""
    Membership.objects.filter(
        channel_id=message.channel_id,
        last_read_message_pk__gte=message.pk,
        read_count__gt=0,
    ).update(read_count=F("read_count") - 1)
    if message.parent_id is not None:
        ThreadRead.objects.filter(
            thread_id=message.parent_id,
            last_read_message_pk__gte=message.pk,
            read_count__gt=0,
        ).update(read_count=F("read_count") - 1)


@transaction.atomic
def channel_mark_read(
    *, member: Member, channel: Channel, last_read_message_pk: int | None = None
) -> ReadState:
    """Mark ``channel`` read by ``member`` up to the message ``last_read_message_pk``
    (a message of the channel, as the caller checked it; earlier than the current mark
    makes the newer messages unread again), or up to its newest message when None.

    403 ``not_a_member`` unless the member is a current member (the read state lives on
    its membership)."""
    _hold(Channel, channel.pk)  # the channel first: posts and deletes lock it first too
    membership = (
        Membership.objects.select_for_update()
        .filter(membership_current_q(), channel=channel, member=member)
        .first()
    )
    if membership is None:
        raise DomainError(
            "not_a_member",
            f"User {member.user_id!r} is not a member of {channel.channel_id!r}.",
            field="channelID",
        )
    total = Channel.objects.filter(pk=channel.pk).values_list("message_count", flat=True).first()
    live = Message.objects.filter(channel_id=channel.pk, deleted_at__isnull=True)
    read, last = _read_upto(live, total or 0, last_read_message_pk)
    Membership.objects.filter(pk=membership.pk).update(read_count=read, last_read_message_pk=last)
    return ReadState(count=max((total or 0) - read, 0), last_read_message_pk=last)


@transaction.atomic
def thread_mark_read(
    *, member: Member, thread: Message, last_read_message_pk: int | None = None
) -> ReadState:
    """Mark the replies of ``thread`` (a top-level message) read by ``member`` up to the
    reply ``last_read_message_pk`` (as the caller checked it), or up to the newest reply
    when None. Any member who may read the channel has a thread's read state."""
    _hold(Message, thread.pk)
    total = Message.objects.filter(pk=thread.pk).values_list("children_count", flat=True).first()
    live = Message.objects.filter(parent_id=thread.pk, deleted_at__isnull=True)
    read, last = _read_upto(live, total or 0, last_read_message_pk)
    _thread_read_set(member=member, thread_pk=thread.pk, read_count=read, last=last)
    return ReadState(count=max((total or 0) - read, 0), last_read_message_pk=last)


def _read_upto(
    live: models.QuerySet[Message], total: int, last_read_message_pk: int | None
) -> tuple[int, int | None]:
    """(read_count, last_read_message_pk) for a mark at ``last_read_message_pk`` (None:
    the newest live message). Counts only the live messages newer than the mark."""
    if last_read_message_pk is None:
        last = live.order_by("-pk").values_list("pk", flat=True).first()
        return total, last
    newer = live.filter(pk__gt=last_read_message_pk).count()
    return max(total - newer, 0), last_read_message_pk


def _thread_read_set(*, member: Member, thread_pk: int, read_count: int, last: int | None) -> None:
    updated = ThreadRead.objects.filter(member=member, thread_id=thread_pk).update(
        read_count=read_count, last_read_message_pk=last
    )
    if updated:
        return
    try:
        with transaction.atomic():
            ThreadRead.objects.create(
                organization_id=member.organization_id,
                member=member,
                thread_id=thread_pk,
                read_count=read_count,
                last_read_message_pk=last,
            )
    except IntegrityError:  # a concurrent mark of the same member won the race
        ThreadRead.objects.filter(member=member, thread_id=thread_pk).update(
            read_count=read_count, last_read_message_pk=last
        )


def channel_read_state(*, channel: Channel, membership: Membership | None) -> ReadState:
    """The unread state of a channel for the member of ``membership`` (no query)."""
    if membership is None:
        return ReadState(count=0, last_read_message_pk=None)
    return ReadState(
        count=max(channel.message_count - membership.read_count, 0),
        last_read_message_pk=membership.last_read_message_pk,
    )
