"""django-filter FilterSets for blacklist and whitelist records: the one place their
filtering is defined (Admin API v2 ``GET /api/v2/{blacklist,whitelist}/records`` and
the console)."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from .models import BlacklistRecord, WhitelistRecord

#: Most ``regexs`` filter terms one query may carry.
MAX_FILTER_TERMS = 100


class StringListFormField(forms.Field):
    """A list of non-empty strings from a QueryDict (``regexs=a&regexs=b``) or a dict."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[str]:
        if value in (None, "", [], ()):
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise forms.ValidationError("Must be a list of strings.", code="invalid")
        values = [str(item) for item in value if str(item)]
        if len(values) > MAX_FILTER_TERMS:
            raise forms.ValidationError(
                f"At most {MAX_FILTER_TERMS} filter terms.", code="max_length"
            )
        return values


class StringListFilter(django_filters.Filter):
    field_class = StringListFormField


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

    regexs = StringListFilter(method="filter_regexs")

    class Meta:
        model = BlacklistRecord
        fields: list[str] = []

    def filter_regexs(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        return _contains_any(queryset, value)


class WhitelistRecordFilterSet(django_filters.FilterSet):
    """``regexs``: records whose URL contains any of these strings (case-insensitive)."""

    regexs = StringListFilter(method="filter_regexs")

    class Meta:
        model = WhitelistRecord
        fields: list[str] = []

    def filter_regexs(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        return _contains_any(queryset, value)
