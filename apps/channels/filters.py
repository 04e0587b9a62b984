"""django-filter FilterSets for channels: the one place channel filtering is defined.

Shared by the Admin API v2 (``POST/GET /api/v2/channels``) and the moderation console.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, QuerySet

from apps.channels.models import Channel, ChannelTag, Membership, membership_current_q
from apps.core.filters import StringListFilter
from apps.members.models import Member


class ChannelFilterSet(django_filters.FilterSet):
    """Filters of the channel query.

    - ``filter``: the acting admin's membership: ``all`` (default), ``member``,
      ``notMember``; needs ``admin_member`` (the admin's Member in the organization).
    - ``userId``: channels this user is a current member of (unknown user: none).
    - ``tags``: channels having ANY of the tags; ``excludeTags``: none of them.
    """

    filter = django_filters.ChoiceFilter(
        choices=[("all", "all"), ("member", "member"), ("notMember", "notMember")],
        method="filter_membership",
        empty_label=None,
    )
    userId = django_filters.CharFilter(method="filter_user_id", max_length=128)
    tags = StringListFilter(method="filter_tags")
    excludeTags = StringListFilter(method="filter_exclude_tags")

    class Meta:
        model = Channel
        fields: list[str] = []

    def __init__(self, *args: Any, admin_member: Member | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.admin_member = admin_member

    def filter_membership(self, queryset: QuerySet[Channel], name: str, value: str) -> Any:
        if value not in ("member", "notMember"):
            return queryset
        if self.admin_member is None:
            return queryset.none() if value == "member" else queryset
        joined = Exists(
            Membership.objects.filter(
                membership_current_q(), channel=OuterRef("pk"), member=self.admin_member
            )
        )
        return queryset.filter(joined) if value == "member" else queryset.exclude(joined)

    def filter_user_id(self, queryset: QuerySet[Channel], name: str, value: str) -> Any:
        return queryset.filter(
            Exists(
                Membership.objects.filter(
                    membership_current_q(),
                    channel=OuterRef("pk"),
                    member__organization_id=OuterRef("organization_id"),
                    member__user_id=value,
                )
            )
        )

    def filter_tags(self, queryset: QuerySet[Channel], name: str, value: list[str]) -> Any:
        return queryset.filter(
            Exists(ChannelTag.objects.filter(channel=OuterRef("pk"), name__in=value))
        )

    def filter_exclude_tags(self, queryset: QuerySet[Channel], name: str, value: list[str]) -> Any:
        return queryset.exclude(
            Exists(ChannelTag.objects.filter(channel=OuterRef("pk"), name__in=value))
        )
