"""What a bulk action's selection is: the rows ticked on a console list, or every row
matching the list's current filters, read through the list's own filter function (the
same GET parameters, the same queryset), never a second way of filtering.

Ids a moderator sends are checked against this organization (and, for a channel's
members, that channel): one that is not there (another organization's, a made-up one)
makes the whole selection a 404 and nothing is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, QueryDict

from apps.channels.models import Channel, Membership, membership_current_q
from apps.channels.selectors.channels import channel_get
from apps.console.messages.views import message_search
from apps.console.review.forms import ReviewFilterForm
from apps.console.selectors import review_groups
from apps.console.users.views import user_search
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.messages.selectors.messages import message_visible
from apps.moderation import bulk
from apps.organizations.models import Organization
from apps.reports.models import Report

#: Ids one POST may name (a page is at most 50 rows; more is a forged form).
MAX_IDS = 500


@dataclass(frozen=True)
class BulkList:
    """A console list that offers bulk actions."""

    name: str
    #: What one row is called: ("message", "messages").
    noun: tuple[str, str]
    source: str
    actions: tuple[str, ...]
    #: Whether a mute or a channel ban needs a channel typed (the rows give none).
    needs_channel: bool = False


LISTS: dict[str, BulkList] = {
    "queue": BulkList(
        "queue",
        ("reported item", "reported items"),
        bulk.REPORT,
        (
            bulk.DISMISS,
            bulk.DELETE,
            bulk.HIDE,
            bulk.UNHIDE,
            bulk.MUTE,
            bulk.CHANNEL_BAN,
            bulk.GLOBAL_BAN,
        ),
    ),
    "messages": BulkList(
        "messages",
        ("message", "messages"),
        bulk.MESSAGE,
        (bulk.DELETE, bulk.HIDE, bulk.UNHIDE, bulk.MUTE, bulk.CHANNEL_BAN, bulk.GLOBAL_BAN),
    ),
    "users": BulkList(
        "users",
        ("user", "users"),
        bulk.MEMBER,
        (bulk.MUTE, bulk.CHANNEL_BAN, bulk.GLOBAL_BAN),
        needs_channel=True,
    ),
    "members": BulkList(
        "members",
        ("member", "members"),
        bulk.MEMBER,
        (bulk.MUTE, bulk.CHANNEL_BAN, bulk.GLOBAL_BAN),
    ),
}


def bulk_list(name: str) -> BulkList:
    if name not in LISTS:
        raise Http404("No such list.")
    return LISTS[name]


def list_channel(organization: Organization, blist: BulkList, channel_id: str) -> Channel | None:
    """The channel whose members are listed (the ``members`` list); 404 if unknown."""
    if blist.name != "members":
        return None
    try:
        return channel_get(organization=organization, channel_id=channel_id)
    except DomainError as exc:
        raise Http404(exc.message) from exc


def matching(
    organization: Organization, blist: BulkList, query: str, channel: Channel | None
) -> QuerySet[Any]:
    """Every row of the list under its filters (``query``: the list page's query
    string), with the list's own filter function."""
    params = QueryDict(query or "")
    if blist.name == "queue":
        filters = ReviewFilterForm(params).filters()
        return review_groups(organization=organization, **filters)
    if blist.name == "messages":
        return message_search(organization, params).queryset
    if blist.name == "users":
        return user_search(organization, params)[2]
    assert channel is not None
    return Membership.objects.filter(membership_current_q(), channel=channel)


def by_ids(
    organization: Organization, blist: BulkList, ids: list[str], channel: Channel | None
) -> QuerySet[Any]:
    """The rows with these ids, all of them in this organization (else 404)."""
    if len(ids) > MAX_IDS:
        raise DomainError("invalid_parameter", f"At most {MAX_IDS} rows can be ticked at once.")
    try:
        pks = {int(i) for i in ids}
    except ValueError:
        raise Http404("No such row.") from None
    if any(not 0 < pk < 2**63 for pk in pks):
        raise Http404("No such row.")
    queryset: QuerySet[Any]
    if blist.name == "queue":
        queryset = Report.objects.filter(organization=organization, pk__in=pks)
    elif blist.name == "messages":
        queryset = message_visible(organization=organization).filter(pk__in=pks)
    elif blist.name == "users":
        queryset = Member.objects.filter(organization=organization, pk__in=pks)
    else:
        queryset = Membership.objects.filter(channel=channel, member_id__in=pks)
    found = queryset.count()
    if found != len(pks):
        raise Http404("A selected row is not in this organization.")
    return queryset


def row_key(blist: BulkList) -> str:
    """The field whose values bound an "all matching" selection (``until``)."""
    return "member_id" if blist.name == "members" else "pk"


def count(queryset: QuerySet[Any], limit: int) -> int:
    """The rows of ``queryset``, counted up to ``limit + 1`` (so a huge match stays cheap
    and still says "more than the limit")."""
    return queryset.order_by().values("pk")[: limit + 1].count()


def rows(blist: BulkList, queryset: QuerySet[Any]) -> list[Any]:
    """What :func:`apps.moderation.bulk.bulk_units` takes for this list's rows, in the
    list's id order."""
    queryset = queryset.order_by()
    if blist.name == "messages":
        return [
            (pk, author, channel)
            for pk, author, channel in queryset.order_by("pk").values_list(
                "pk", "author_id", "channel_id"
            )
        ]
    if blist.name == "members":
        return list(queryset.order_by("member_id").values_list("member_id", flat=True))
    return list(queryset.order_by("pk").values_list("pk", flat=True))


def upper_bound(blist: BulkList, queryset: QuerySet[Any]) -> int:
    """The largest id matching now: an "all matching" selection confirmed now acts on
    rows up to it only (rows that appear between the confirmation and the action are
    not silently included)."""
    key = row_key(blist)
    value = queryset.order_by(f"-{key}").values_list(key, flat=True).first()
    return int(value or 0)


def bounded(blist: BulkList, queryset: QuerySet[Any], until: int | None) -> QuerySet[Any]:
    if until is None:
        return queryset
    return queryset.filter(**{f"{row_key(blist)}__lte": until})
