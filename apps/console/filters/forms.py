"""Forms of the blacklist and whitelist pages."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.console.filters.explain import MAX_TRY_LENGTH
from apps.core.errors import DomainError
from apps.moderation.filter.patterns import (
    MAX_PATTERN_LENGTH,
    canonical_whitelist_pattern,
    validate_blacklist_pattern,
)
from apps.moderation.services import MAX_PATTERNS_PER_REQUEST

BLACKLIST, WHITELIST = "blacklist", "whitelist"
KINDS = (BLACKLIST, WHITELIST)
#: Bad lines named one by one in the error message (the rest are counted).
MAX_BAD_LINES_SHOWN = 20


def check_pattern(kind: str, pattern: str) -> str:
    """The pattern as it would be stored, or DomainError(invalid_pattern)."""
    if kind == BLACKLIST:
        return validate_blacklist_pattern(pattern)
    return canonical_whitelist_pattern(pattern)


class BulkAddForm(forms.Form):
    """One pattern per line (blank lines ignored); every line is checked before anything
    is added, and every bad line is named."""

    patterns = forms.CharField(
        label="Patterns, one per line",
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        max_length=MAX_PATTERNS_PER_REQUEST * (MAX_PATTERN_LENGTH + 2),
        strip=False,
    )
    is_match_exact_word = forms.BooleanField(
        label="Whole words only (isMatchExactWord)", required=False
    )

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        if kind == WHITELIST:
            del self.fields["is_match_exact_word"]
            self.fields["patterns"].label = "URLs or domains, one per line"

    def clean_patterns(self) -> list[str]:
        lines = [
            (number, line.strip())
            for number, line in enumerate(self.cleaned_data["patterns"].splitlines(), start=1)
            if line.strip()
        ]
        if not lines:
            raise forms.ValidationError("Give at least one pattern.", code="required")
        if len(lines) > MAX_PATTERNS_PER_REQUEST:
            raise forms.ValidationError(
                f"At most {MAX_PATTERNS_PER_REQUEST} patterns at once ({len(lines)} given).",
                code="max_items",
            )
        bad: list[str] = []
        for number, line in lines:
            try:
                check_pattern(self.kind, line)
            except DomainError as exc:
                bad.append(f"Line {number}: {exc.message}")
        if bad:
            shown = bad[:MAX_BAD_LINES_SHOWN]
            if len(bad) > len(shown):
                shown.append(f"… and {len(bad) - len(shown)} more bad lines.")
            raise forms.ValidationError(
                ["Nothing was added; fix these lines:", *shown], code="invalid_pattern"
            )
        return [line for _, line in lines]


class EditRecordForm(forms.Form):
    pattern = forms.CharField(label="Pattern", max_length=MAX_PATTERN_LENGTH * 2)
    is_match_exact_word = forms.BooleanField(
        label="Whole words only (isMatchExactWord)", required=False
    )

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        if kind == WHITELIST:
            del self.fields["is_match_exact_word"]
            self.fields["pattern"].label = "URL or domain"


class TryMessageForm(forms.Form):
    text = forms.CharField(
        label="Message text",
        max_length=MAX_TRY_LENGTH,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DraftPatternForm(forms.Form):
    """A blacklist pattern not saved yet, to see what it would have matched."""

    pattern = forms.CharField(
        label="Draft pattern",
        max_length=MAX_PATTERN_LENGTH * 2,
        strip=False,
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    is_match_exact_word = forms.BooleanField(
        label="Whole words only (isMatchExactWord)", required=False
    )
