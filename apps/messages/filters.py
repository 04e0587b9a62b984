"""django-filter FilterSets for messages: the one place message filtering is defined.

Shared by the Admin API v2 (``POST/GET /api/v2/messages``) and the moderation console.
Scoping (organization, channel, visibility) is the selectors' job; these only narrow.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, QuerySet

from apps.core.filters import StringListFilter
from apps.messages.models import Message, MessageTag


class MessageFilterSet(django_filters.FilterSet):
    """Filters of the message query.

    - ``tags``: messages having ANY of the tags; ``excludeTags``: none of them.
    - ``filterByParentId``: true keeps only top-level messages (no parent).
    """

    tags = StringListFilter(method="filter_tags")
    excludeTags = StringListFilter(method="filter_exclude_tags")
    filterByParentId = django_filters.BooleanFilter(method="filter_top_level")

    class Meta:
        model = Message
        fields: list[str] = []

    def filter_tags(self, queryset: QuerySet[Message], name: str, value: list[str]) -> Any:
        if not value:
            return queryset
        return queryset.filter(
            Exists(MessageTag.objects.filter(message=OuterRef("pk"), name__in=value))
        )

    def filter_exclude_tags(self, queryset: QuerySet[Message], name: str, value: list[str]) -> Any:
        if not value:
            return queryset
        return queryset.exclude(
            Exists(MessageTag.objects.filter(message=OuterRef("pk"), name__in=value))
        )

    def filter_top_level(self, queryset: QuerySet[Message], name: str, value: bool | None) -> Any:
        return queryset.filter(parent__isnull=True) if value else queryset
