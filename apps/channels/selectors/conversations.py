"""Reads of the messaging API's channels ("conversations"): the channels one member sees,
with what it takes to render them (its own membership row, the current members, the
newest message) in a fixed number of queries, however many channels there are.

Who sees what (docs/api/messaging-channels.md):

- a live channel (not closed, not deleted, its scheduled deletion not due) that is
  public, or that the member belongs to or is invited to, is visible to that member;
- an organization admin also reaches any other channel of the organization by its id
  (moderation), but its list shows only what a member's would;
- a deny rule on ``read`` hides a channel like a missing one;
- anything else, including another organization's channel, is 404 ``channel_not_found``.

The list is read as values into light rows (:class:`ConversationRow`, with the viewer's
own row as a :class:`ViewerRow`), never as models: building hundreds of model instances
was most of its time (docs/performance.md). One channel read by id is a model (the
services that follow need it); :func:`conversation_row` makes the same light row of it,
so rendering, the abilities and the posting rule have one input and one implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from typing import Any

from django.db.models import (
    BooleanField,
    ExpressionWrapper,
    FilteredRelation,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.utils import timezone

from apps.channels.models import Channel, Membership, membership_current_q
from apps.channels.rules import post_refusal
from apps.channels.selectors.channels import channel_last_shown_message_subquery, channel_live_q
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.organizations.models import Organization
from apps.permissions.services import ChannelLike, can, channel_decider

#: Longest ``query`` of the channel list (a name is at most 255 characters).
MAX_QUERY_LENGTH = 255


def channel_not_found(channel_pk: int | str | None = None) -> DomainError:
    """404 ``channel_not_found`` on the field ``channelID``: a missing channel, another
    organization's, or one this member may not see, alike."""
    shown = f" {channel_pk}" if channel_pk is not None else ""
    return DomainError("channel_not_found", f"No channel{shown}.", field="channelID")


@dataclass(slots=True)
class ViewerRow:
    """The viewer's own row in a channel as a list reads it (values, not a
    :class:`Membership`): what rendering and the posting rule read of it, with the
    model's own methods."""

    #: A current member (``joined_at`` set): the list reads the fact, not the time.
    is_member: bool
    invited_at: datetime | None
    is_owner: bool
    flag: str
    muted_at: datetime | None
    mute_expires_at: datetime | None
    banned_at: datetime | None
    ban_expires_at: datetime | None
    read_count: int
    last_read_message_pk: int | None

    # the model's definitions, not copies of them
    is_muted = Membership.is_muted
    is_banned = Membership.is_banned


@dataclass(slots=True)
class ConversationRow:
    """One channel of the messaging API as its viewer sees it, for rendering and the
    abilities (:func:`conversation_abilities`): the channel's columns that they and the
    posting rule read, with the model's own methods, and what the list loads with it:
    the newest shown message's pk, the viewer's row, the current members' ids (in the
    order they joined), whether the viewer owns it (for
    :func:`apps.permissions.services.can`, which then makes no query)."""

    pk: int
    channel_id: str
    visibility: str
    display_name: str
    topic: str
    message_count: int
    muted_at: datetime | None
    mute_expires_at: datetime | None
    archived_at: datetime | None
    scheduled_deletion_at: datetime | None
    created_at: datetime
    updated_at: datetime
    last_message_pk: int | None
    # a list does not read these: its filter keeps neither closed nor deleted channels
    closed_at: datetime | None = None
    deleted_at: datetime | None = None
    viewer_membership: ViewerRow | None = None
    current_member_ids: list[int] = field(default_factory=list)
    viewer_is_owner: bool = False
    #: Set by the visibility check (:func:`_sees`), which asks :func:`can` for ``read``.
    viewer_can_read: bool | None = None

    # the model's definitions, not copies of them
    is_muted = Channel.is_muted
    is_closed = Channel.is_closed
    is_archived = Channel.is_archived


#: The columns a list reads: a :class:`ConversationRow`'s fields without a default (the
#: rest is filled in after), then the viewer's row's.
_ROW_COLUMNS = tuple(
    f.name for f in fields(ConversationRow) if f.default is MISSING and f.default_factory is MISSING
)
_VIEWER_COLUMNS = tuple(f.name for f in fields(ViewerRow))
#: How a list reads them: the columns of the viewer's row (its ``FilteredRelation``), and
#: whether it makes a current member (a boolean is cheaper to read than a time).
_VIEWER_VALUES = tuple(
    ExpressionWrapper(membership_current_q("viewer__"), output_field=BooleanField())
    if name == "is_member"
    else f"viewer__{name}"
    for name in _VIEWER_COLUMNS
)


def _viewer_row(row: Membership | None) -> ViewerRow | None:
    if row is None:
        return None
    return ViewerRow(*(getattr(row, name) for name in _VIEWER_COLUMNS))


def conversation_row(channel: Channel) -> ConversationRow:
    """The light row of ``channel`` as :func:`conversation_get` (or
    :func:`conversation_view_of`) loaded it: what a list renders, for one channel."""
    return ConversationRow(
        *(getattr(channel, name) for name in _ROW_COLUMNS),
        closed_at=channel.closed_at,
        deleted_at=channel.deleted_at,
        viewer_membership=_viewer_row(channel.viewer_membership),
        current_member_ids=channel.current_member_ids,
        viewer_is_owner=channel.viewer_is_owner,
        viewer_can_read=getattr(channel, "viewer_can_read", None),
    )


class _CurrentMemberIds(Subquery):
    """The current members' ids of the outer channel (``pk``), in the order they joined,
    as a list, read in the channel's own statement: a second statement with every
    channel's id as a parameter cost twice as much (docs/performance.md). PostgreSQL
    builds an array; SQLite joins the ordered rows with commas (its aggregates take no
    ``ORDER BY`` before 3.44; an aggregate over an ordered subquery keeps its order; a
    split is cheaper than a JSON parse). The product runs on these two databases only."""

    output_field = JSONField()

    def __init__(self) -> None:
        super().__init__(
            Membership.objects.filter(membership_current_q(), channel_id=OuterRef("pk"))
            .order_by("joined_at", "pk")
            .values("member_id")
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        return self.as_sql(compiler, connection, template="ARRAY(%(subquery)s)", **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        template = "(SELECT group_concat(member_id, ',') FROM (%(subquery)s))"
        return self.as_sql(compiler, connection, template=template, **extra)

    def get_db_converters(self, connection: Any) -> list[Any]:
        return [self._as_list]

    @staticmethod
    def _as_list(value: Any, expression: Any, connection: Any) -> list[int]:
        if isinstance(value, str):
            return [int(pk) for pk in value.split(",")]
        return value or []  # SQLite: NULL without members


def _channels(member: Member, *, include_deleted: bool = False) -> QuerySet[Channel]:
    """The member's organization's open channels, each with the member's own row
    (``viewer``, None without one: one LEFT JOIN), ``last_message_pk`` (the newest
    shown message's pk) and ``current_member_ids`` (subqueries). The list reads values
    of it; a read by id reads the model (the whole row, for the services that follow),
    then :func:`_attach`."""
    now = timezone.now()
    if include_deleted:  # deleted but not purged, and still within its grace
        live = Q(scheduled_deletion_at__isnull=True) | Q(scheduled_deletion_at__gt=now)
    else:
        live = channel_live_q(now=now)
    return (
        Channel.objects.filter(live, organization_id=member.organization_id, closed_at__isnull=True)
        .annotate(
            viewer=FilteredRelation("memberships", condition=Q(memberships__member=member)),
            last_message_pk=channel_last_shown_message_subquery(),
            current_member_ids=_CurrentMemberIds(),
        )
        .select_related("viewer")
    )


def _attach(channels: list[Channel]) -> list[Channel]:
    """Set what rendering ``channels`` (loaded by :func:`_channels`) needs of the viewer's
    row: ``viewer_membership``, and ``viewer_is_owner`` (so
    :func:`apps.permissions.services.can` makes no query)."""
    for channel in channels:
        channel.viewer_membership = row = getattr(channel, "viewer", None)
        channel.viewer_is_owner = bool(row is not None and row.is_member and row.is_owner)
    return channels


def _sees(member: Member, channel: Channel | ConversationRow, *, by_id: bool) -> bool:
    row = channel.viewer_membership
    belongs = row is not None and (row.is_member or row.invited_at is not None)
    open_to = channel.visibility == Channel.Visibility.PUBLIC or belongs
    if not open_to and not (by_id and member.is_org_admin):
        return False
    channel.viewer_can_read = can(member, "read", channel)
    return channel.viewer_can_read


def conversations_visible(*, member: Member, query: str = "") -> list[ConversationRow]:
    """The channels in ``member``'s list: public ones and those it belongs to or is
    invited to (admins alike), not closed nor deleted, that it may ``read``; ``query``
    narrows by name (case-insensitive substring). Ordered by name, then id. One
    query whatever the number of channels (the channels with the viewer's rows, the
    newest message's pk and the current members' ids, as values)."""
    if len(query) > MAX_QUERY_LENGTH:
        raise DomainError(
            "invalid_parameter",
            f"query: at most {MAX_QUERY_LENGTH} characters.",
            field="query",
        )
    channels = _channels(member).filter(
        Q(visibility=Channel.Visibility.PUBLIC)
        | Q(viewer__joined_at__isnull=False)
        | Q(viewer__invited_at__isnull=False)
    )
    if query.strip():
        channels = channels.filter(display_name__icontains=query.strip())
    values = channels.order_by("display_name", "pk").values_list(
        *_ROW_COLUMNS, "current_member_ids", "viewer__pk", *_VIEWER_VALUES
    )
    width = len(_ROW_COLUMNS)
    rows = []
    for value in values:
        viewer = ViewerRow(*value[width + 2 :]) if value[width + 1] is not None else None
        rows.append(
            ConversationRow(
                *value[:width],
                current_member_ids=value[width],
                viewer_membership=viewer,
                viewer_is_owner=viewer is not None and viewer.is_member and viewer.is_owner,
            )
        )
    return [row for row in rows if _sees(member, row, by_id=False)]


def conversation_get(*, member: Member, channel_pk: int, include_deleted: bool = False) -> Channel:
    """The channel ``channel_pk`` as ``member`` may see it (rendering data loaded), or 404
    ``channel_not_found``. ``include_deleted``: also a deleted channel still within its
    grace (to undelete it), if the member saw it before it was deleted."""
    channel = (
        _channels(member, include_deleted=include_deleted)
        # with its organization: for the services and events that follow
        .select_related("organization")
        .filter(pk=channel_pk)
        .first()
    )
    if channel is None:
        raise channel_not_found(channel_pk)
    _attach([channel])
    if not _sees(member, channel, by_id=True):
        raise channel_not_found(channel_pk)
    return channel


def conversation_view_of(channel: Channel, *, loaded: Channel) -> Channel:
    """``channel`` (the row a write re-read) with what ``loaded`` (this module's load of the
    same channel, before the write) knew of the viewer, the members and the newest
    message: to answer a write whose channel is already gone for every reader (a delete
    without grace)."""
    for attr in ("viewer_membership", "viewer_is_owner", "current_member_ids"):
        setattr(channel, attr, getattr(loaded, attr))
    channel.last_message_pk = getattr(loaded, "last_message_pk", None)
    return channel


def conversation_members(*, channel: Channel) -> list[Membership]:
    """The channel's owners, members and invitees (not rows that only keep a ban or a
    mute), in the order they joined or were invited, with their members."""
    return list(
        Membership.objects.filter(channel=channel)
        .filter(membership_current_q() | Q(invited_at__isnull=False))
        .select_related("member")
        .order_by("pk")
    )


def conversation_member_rows(*, channel: Channel, members: Sequence[Member]) -> list[Membership]:
    """The channel's rows of these members (any state), in the members' order."""
    rows = {
        row.member_id: row
        for row in Membership.objects.filter(
            channel=channel, member__in=[m.pk for m in members]
        ).select_related("member")
    }
    return [rows[m.pk] for m in members if m.pk in rows]


def members_by_pk(
    *, organization: Organization, member_pks: Sequence[int], field: str
) -> list[Member]:
    """The organization's members with these numeric ids, in order, without duplicates;
    an unknown id (or another organization's) is 404 ``user_not_found`` on ``field``."""
    wanted = list(dict.fromkeys(member_pks))
    found = {m.pk: m for m in Member.objects.filter(organization=organization, pk__in=wanted)}
    unknown = [pk for pk in wanted if pk not in found]
    if unknown:
        shown = ", ".join(str(pk) for pk in unknown[:20])
        raise DomainError("user_not_found", f"{field}: no users {shown}.", field=field)
    return [found[pk] for pk in wanted]


def conversation_abilities(
    *,
    channel: ConversationRow,
    member: Member,
    now: datetime | None = None,
    decide: Callable[[ChannelLike], Mapping[str, bool]] | None = None,
) -> dict[str, Any]:
    """What ``member`` may do on ``channel`` (loaded by this module, so nothing here makes
    a query): every permission through :func:`apps.permissions.services.can`, posting
    through the posting rule. ``decide``: the member's
    :func:`apps.permissions.services.channel_decider`, when many channels are rendered."""
    now = now or timezone.now()
    may = (decide or channel_decider(member))(channel)
    row = channel.viewer_membership
    is_member = row is not None and row.is_member
    if is_member or (row is not None and row.is_banned(now)):
        may_join = False
    else:  # invited, or a public channel and the permission
        may_join = (row is not None and row.invited_at is not None) or (
            channel.visibility == Channel.Visibility.PUBLIC and may["join"]
        )
    archived = channel.is_archived
    return {
        "join": may_join,
        "part": is_member and may["leave"],
        "observe": channel.viewer_can_read or may["read"],
        "send": post_refusal(channel=channel, member=member, membership=row, now=now) is None
        and may["message.send"],
        "delete_messages": may["message.delete.all"],
        "change_members": may["members.manage"],
        "update": not archived and may["update"],
        "archive": may["unarchive" if archived else "archive"],
        "delete": may["delete"],
    }
