"""Reads on chatrooms (the chatroom service, /api/messenger/): channels of type custom,
default and event.

A chatroom exists for these readers while it is live (``channel_live_q``: not removed,
scheduled deletion not due) and not closed (a closed channel is one the scheduled
deletion sweep has claimed, or one closed through the Admin API). Every other case,
an unknown id, another organization's id and a standard (Admin API v2) channel are
answered alike: 404 ``chatroom_not_found``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db.models import Q, QuerySet

from apps.channels.models import Channel, Membership
from apps.channels.selectors.channels import channel_live_q
from apps.core.errors import DomainError
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


def _not_found(field: str = "roomID") -> DomainError:
    return DomainError("chatroom_not_found", "Chatroom not found.", field=field)


def _live_chatrooms() -> QuerySet[Channel]:
    return Channel.objects.filter(chatroom_live_q()).select_related("organization")


def chatroom_get(
    *,
    organization: Organization | None,
    room_id: int,
    organizations: QuerySet | None = None,
) -> Channel:
    """The chatroom with this id (Channel pk).

    Scoped to ``organization`` when given (an API-TOKEN), else to ``organizations``
    (e.g. the organizations where a personal token's account has a Member); with
    neither, unscoped (the caller checks access). 404 ``chatroom_not_found`` for an
    unknown id, another organization's, a removed or due one and a standard channel.
    """
    if isinstance(room_id, bool) or not isinstance(room_id, int) or room_id < 1:
        raise _not_found()
    qs = _live_chatrooms().filter(pk=room_id)
    if organization is not None:
        qs = qs.filter(organization=organization)
    elif organizations is not None:
        qs = qs.filter(organization__in=organizations)
    channel = qs.first()
    if channel is None:
        raise _not_found()
    return channel


def chatroom_for_event(*, organization: Organization, event_id: int) -> Channel:
    """The chatroom of the organization's event ``event_id`` (404 ``chatroom_not_found``
    for an unknown event, another organization's, or an event whose chatroom is gone)."""
    if isinstance(event_id, bool) or not isinstance(event_id, int) or event_id < 1:
        raise _not_found("event_id")
    channel = (
        _live_chatrooms()
        .filter(
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


def chatrooms_of_organization(*, organization: Organization) -> QuerySet[Channel]:
    """The organization's live chatrooms (custom, default, event), ordered by id."""
    return _live_chatrooms().filter(organization=organization).order_by("pk")


def chatrooms_assigned_to(*, members: Sequence[Member]) -> QuerySet[Channel]:
    """The live chatrooms where any of these members is currently assigned (a user's
    Members across organizations), ordered by id, each once."""
    member_pks = [m.pk for m in members]
    assigned = Membership.objects.filter(member__in=member_pks, joined_at__isnull=False).values(
        "channel_id"
    )
    return _live_chatrooms().filter(pk__in=assigned).order_by("pk")


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
        Membership.objects.filter(channel__in=pks, joined_at__isnull=False)
        .order_by("channel_id", "member_id")
        .values_list("channel_id", "member_id")
    )
    for channel_pk, member_pk in rows:
        result[channel_pk].append(member_pk)
    return result
