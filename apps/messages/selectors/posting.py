"""The one read of a post: the channel as it is now, the posting member, its row in the
channel and the organization's content-filter version, in one statement compiled once per
process (apps.core.compiled): building it with the ORM (two ``FilteredRelation`` joins and
a ``select_related``) cost more CPU than the rest of the post's reads together
(docs/performance.md, "Request path")."""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import F, FilteredRelation, Q, QuerySet

from apps.channels.models import Channel, Membership
from apps.core.compiled import CompiledRead, fields_of, instance
from apps.members.models import Member
from apps.organizations.models import Organization

_CHANNEL = fields_of(Channel)
_MEMBER = fields_of(Member)
_MEMBERSHIP = fields_of(Membership)


def _build(rows: QuerySet[Channel], poster: Q) -> QuerySet[Any]:
    return (
        rows.annotate(
            poster=FilteredRelation("organization__members", condition=poster),
            poster_in=FilteredRelation(
                "memberships", condition=Q(memberships__member_id=F("poster__id"))
            ),
        )
        .order_by()
        .values_list(
            *_CHANNEL,
            "organization__filter_version",
            *(f"poster__{name}" for name in _MEMBER),
            *(f"poster_in__{name}" for name in _MEMBERSHIP),
        )[:1]
    )


def _read(by_pk: bool, by_member: bool) -> CompiledRead:
    """The read of a channel given by pk (else by organization and channelId) and a
    poster given by member pk (else by account)."""
    poster_field = Member._meta.get_field("id" if by_member else "account")
    poster = "organization__members__pk" if by_member else "organization__members__account_id"
    if by_pk:
        return CompiledRead(
            lambda channel, poster_pk: _build(
                Channel.objects.filter(pk=channel), Q(**{poster: poster_pk})
            ),
            channel=Channel._meta.get_field("id"),
            poster_pk=poster_field,
        )
    return CompiledRead(
        lambda channel, organization, poster_pk: _build(
            Channel.objects.filter(organization=organization, channel_id=channel),
            Q(**{poster: poster_pk}),
        ),
        channel=Channel._meta.get_field("channel_id"),
        organization=Channel._meta.get_field("organization"),
        poster_pk=poster_field,
    )


#: (channel given by pk, poster given by member pk) -> its compiled read
_READS = {(a, b): _read(a, b) for a in (True, False) for b in (True, False)}


def posting_row(
    *,
    organization: Organization,
    channel: Channel | str,
    member_pk: int | None = None,
    account_pk: int | None = None,
) -> Channel | None:
    """``channel`` (or the organization's channel of that channelId) as it is now, with
    the posting member (the member ``member_pk``, else the organization's member of the
    account ``account_pk``) as ``.poster`` and its row in the channel as ``.poster_in``
    (absent when there is none), and the organization's ``filter_version`` as
    ``.organization_filter_version``; None when there is no such channel."""
    by_pk = isinstance(channel, Channel)
    by_member = member_pk is not None
    read = _READS[by_pk, by_member]
    poster_pk = member_pk if by_member else account_pk
    if isinstance(channel, Channel):
        row = read.first(channel=channel.pk, poster_pk=poster_pk)
    else:
        row = read.first(channel=channel, organization=organization.pk, poster_pk=poster_pk)
    if row is None:
        return None
    end = len(_CHANNEL)
    current = instance(Channel, _CHANNEL, row[:end], DEFAULT_DB_ALIAS)
    current.organization_filter_version = row[end]  # type: ignore[attr-defined]
    member_values = row[end + 1 : end + 1 + len(_MEMBER)]
    membership_values = row[end + 1 + len(_MEMBER) :]
    if member_values[0] is not None:  # (its id)
        current.poster = instance(Member, _MEMBER, member_values, DEFAULT_DB_ALIAS)  # type: ignore[attr-defined]
    if membership_values[0] is not None:
        current.poster_in = instance(Membership, _MEMBERSHIP, membership_values, DEFAULT_DB_ALIAS)  # type: ignore[attr-defined]
    return current
