"""Filter building blocks shared by the apps' FilterSets."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms


class StringListFormField(forms.Field):
    """A list of non-empty strings from a QueryDict (``tags=a&tags=b``) or a dict."""

    widget = forms.MultipleHiddenInput

    def __init__(self, *, max_items: int | None = None, **kwargs: Any) -> None:
        self.max_items = max_items
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> list[str]:
        if value in (None, "", [], ()):
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise forms.ValidationError("Must be a list of strings.", code="invalid")
        values = [str(item) for item in value if str(item)]
        if self.max_items is not None and len(values) > self.max_items:
            raise forms.ValidationError(f"At most {self.max_items} items.", code="max_length")
        return values


class StringListFilter(django_filters.Filter):
    field_class = StringListFormField
