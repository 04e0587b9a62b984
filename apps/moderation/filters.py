"""django-filter FilterSets for blacklist and whitelist records: the one place their
filtering is defined (Admin API v2 ``GET /api/v2/{blacklist,whitelist}/records`` and
the console)."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from apps.core.filters import StringListFilter
from apps.moderation.models import BlacklistRecord, WhitelistRecord

#: Most ``regexs`` filter terms one query may carry.
MAX_FILTER_TERMS = 100


def _contains_any(queryset: QuerySet, values: list[str]) -> QuerySet:
    """Records whose pattern contains ANY of the values, ignoring case."""
    if not values:
        return queryset
    condition = Q()
    for value in values:
        condition |= Q(pattern__icontains=value)
    return queryset.filter(condition)


class BlacklistRecordFilterSet(django_filters.FilterSet):
    """``regexs``: records whose pattern contains any of these strings (case-insensitive)."""

    regexs = StringListFilter(method="filter_regexs", max_items=MAX_FILTER_TERMS)

    class Meta:
        model = BlacklistRecord
        fields: list[str] = []

    def filter_regexs(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        return _contains_any(queryset, value)


class WhitelistRecordFilterSet(django_filters.FilterSet):
    """``regexs``: records whose URL contains any of these strings (case-insensitive)."""

    regexs = StringListFilter(method="filter_regexs", max_items=MAX_FILTER_TERMS)

    class Meta:
        model = WhitelistRecord
        fields: list[str] = []

    def filter_regexs(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        return _contains_any(queryset, value)
