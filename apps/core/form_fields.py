"""Django form fields for the console that follow the API's input rules (apps.core.text)."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.core.text import parse_integer


class IntegerField(forms.IntegerField):
    """An integer typed in a form: ASCII digits only (Django's own field also takes
    Arabic-Indic or fullwidth digits, ``1_0`` and ``1.0``)."""

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        number = parse_integer(str(value).strip())
        if number is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return number
