"""Reads on chatrooms (the chatroom service, /api/messenger/): channels of type custom,
default and event.

A chatroom exists for these readers while it is live (``channel_live_q``: not removed,
scheduled deletion not due) and not closed (a closed channel is one the scheduled
deletion sweep has claimed, or one closed through the Admin API). Every other case,
an unknown id, another organization's id and a standard (Admin API v2) channel are
answered alike: 404 ``chatroom_not_found``.

Visibility is decided here, in SQL (:func:`chatroom_visible_q`): an API-TOKEN (no member)
and an organization admin see every chatroom of the organization; any other member only
the ones it is assigned to (a current member of). A chatroom the caller may not see is
answered exactly like an unknown one.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Window

from apps.accounts.models import Account
from apps.channels.models import Channel, Membership, membership_current_q
from apps.channels.selectors.channels import channel_live_q
from apps.core.errors import DomainError
from apps.core.expressions import JSONList
from apps.members.models import Member
from apps.organizations.models import Organization

#: The channel types the chatroom service shows.
CHATROOM_TYPES = (Channel.Type.CUSTOM, Channel.Type.DEFAULT, Channel.Type.EVENT)


def chatroom_live_q(*, now: datetime | None = None, prefix: str = "") -> Q:
    """Chatrooms that exist for the chatroom service (see the module docstring)."""
    return (
        channel_live_q(now=now, prefix=prefix)
        & Q(**{f"{prefix}closed_at__isnull": True})
        & Q(**{f"{prefix}type__in": CHATROOM_TYPES})
    )


#: Ids are 64-bit: a larger number is an unknown id, never a database error.
MAX_ID = 2**63 - 1


def _not_found(field: str = "roomID") -> DomainError:
    return DomainError("chatroom_not_found", "Chatroom not found.", field=field)


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def _live_chatrooms() -> QuerySet[Channel]:
    return Channel.objects.filter(chatroom_live_q()).select_related("organization")


def chatroom_visible_q(*, member: Member | None) -> Q:
    """The chatrooms of its organization that ``member`` may see: all of them for an
    organization admin and for no member (an API-TOKEN, which acts for the organization);
    else the ones it is currently assigned to."""
    if member is None or member.is_org_admin:
        return Q()
    assigned = Membership.objects.filter(
        membership_current_q(), channel=OuterRef("pk"), member=member
    )
    return Q(Exists(assigned))


def chatroom_get(
    *, organization: Organization, room_id: int, member: Member | None = None
) -> Channel:
    """The organization's chatroom with this id (Channel pk), if the caller may see it
    (``member``: the Member acting there; None for an API-TOKEN; see
    :func:`chatroom_visible_q`). 404 ``chatroom_not_found`` (field ``roomID``) alike for
    an unknown id, another organization's, a removed or due one, a standard channel and
    one the caller may not see."""
    if not _is_id(room_id):
        raise _not_found()
    channel = (
        _live_chatrooms()
        .filter(chatroom_visible_q(member=member), organization=organization, pk=room_id)
        .first()
    )
    if channel is None:
        raise _not_found()
    return channel


def chatroom_member_of_account(*, account: Account, room_id: int) -> Member | None:
    """The account's Member in the organization of the live chatroom ``room_id`` (how a
    personal token that names no organization reaches a chatroom), or None when the
    chatroom is unknown or gone, or of an organization where the account has no Member.
    Says nothing about visibility: :func:`chatroom_get` with that member decides it."""
    if not _is_id(room_id):
        return None
    return (
        Member.objects.select_related("organization")
        .filter(
            chatroom_live_q(prefix="organization__channels__"),
            account=account,
            organization__channels__pk=room_id,
        )
        .first()
    )


def chatroom_for_event(
    *, organization: Organization, event_id: int, member: Member | None = None
) -> Channel:
    """The chatroom of the organization's event ``event_id``, if the caller may see it
    (``member`` as for :func:`chatroom_get`). 404 ``chatroom_not_found`` (field
    ``event_id``, the parameter it was looked up by) alike for an unknown event, another
    organization's, an event whose chatroom is gone and one the caller may not see."""
    if not _is_id(event_id):
        raise _not_found("event_id")
    channel = (
        _live_chatrooms()
        .filter(
            chatroom_visible_q(member=member),
            organization=organization,
            type=Channel.Type.EVENT,
            calendar_event_id=event_id,
            calendar_event__organization=organization,
        )
        .first()
    )
    if channel is None:
        raise _not_found("event_id")
    return channel


def chatrooms_of_organization_q(*, organization: Organization, member: Member | None = None) -> Q:
    """The organization's live chatrooms (custom, default, event) that the caller may
    see (``member`` as for :func:`chatroom_get`)."""
    return chatroom_live_q() & chatroom_visible_q(member=member) & Q(organization=organization)


def chatrooms_of_organization(
    *, organization: Organization, member: Member | None = None
) -> QuerySet[Channel]:
    """:func:`chatrooms_of_organization_q`, ordered by id."""
    where = chatrooms_of_organization_q(organization=organization, member=member)
    return Channel.objects.filter(where).select_related("organization").order_by("pk")


def chatrooms_assigned_to_q(*, members: Sequence[Member]) -> Q:
    """The live chatrooms where any of these members is currently assigned (a user's
    Members across organizations), each once."""
    member_pks = [m.pk for m in members]
    assigned = Membership.objects.filter(membership_current_q(), member__in=member_pks).values(
        "channel_id"
    )
    return chatroom_live_q() & Q(pk__in=assigned)


def chatrooms_assigned_to(*, members: Sequence[Member]) -> QuerySet[Channel]:
    """:func:`chatrooms_assigned_to_q`, ordered by id."""
    where = chatrooms_assigned_to_q(members=members)
    return Channel.objects.filter(where).select_related("organization").order_by("pk")


def chatroom_default(*, organization: Organization) -> Channel | None:
    """The organization's live default chatroom, or None."""
    return (
        _live_chatrooms()
        .filter(organization=organization, type=Channel.Type.DEFAULT)
        .order_by("pk")
        .first()
    )


def chatroom_assigned_ids(*, channels: Iterable[Channel]) -> dict[int, list[int]]:
    """channel pk -> pks of the Members currently assigned, ascending (one query)."""
    pks = [c.pk for c in channels]
    result: dict[int, list[int]] = {pk: [] for pk in pks}
    if not pks:
        return result
    rows = (
        Membership.objects.filter(membership_current_q(), channel__in=pks)
        .order_by("channel_id", "member_id")
        .values_list("channel_id", "member_id")
    )
    for channel_pk, member_pk in rows:
        result[channel_pk].append(member_pk)
    return result


def assigned_member_ids() -> JSONList:
    """The pks of the Members currently assigned to the outer chatroom, ascending, as a
    list read in the chatroom's own statement (as :func:`chatroom_assigned_ids` gives
    them)."""
    return JSONList(
        Membership.objects.filter(membership_current_q(), channel_id=OuterRef("pk"))
        .order_by("member_id")
        .values("member_id"),
        "member_id",
    )


#: The columns a chatroom is rendered from (the chatroom service's chatroom object).
CHATROOM_VALUES = (
    "pk",
    "calendar_event_id",
    "display_name",
    "organization_id",
    "scheduled_deletion_at",
    "type",
    "avatar",
    "updated_at",
)


@functools.cache
def _all_chatroom_values() -> QuerySet[dict[str, Any]]:
    """Every channel as :func:`chatroom_page_values` reads it, with the total of the rows
    (``COUNT(*) OVER ()``), by id; built once per process: a read adds its filter to a
    copy (as ``apps.messages.selectors.messages._all_render_values``)."""
    return (
        Channel.objects.values(*CHATROOM_VALUES, assigned_users=assigned_member_ids())
        .annotate(total=Window(Count("pk")))
        .order_by("pk")
    )


def chatroom_page_values(
    *, where: Q, offset: int = 0, limit: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """A page of the chatrooms ``where`` selects (:func:`chatrooms_of_organization_q`,
    :func:`chatrooms_assigned_to_q`), by id, as dicts of :data:`CHATROOM_VALUES` with
    ``assigned_users`` (:func:`assigned_member_ids`), and the number of all of them, in
    ONE statement: the total is a ``COUNT(*) OVER ()`` of the rows (``limit`` None: every
    chatroom). Only a page past the end (no rows at a positive offset) costs a second
    statement, the count."""
    rows = _all_chatroom_values().filter(where)
    if limit is None:
        page = list(rows)
        return page, len(page)
    page = list(rows[offset : offset + limit])
    if page:
        return page, page[0]["total"]
    return page, Channel.objects.filter(where).count() if offset else 0
