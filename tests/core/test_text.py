"""What text is refused (apps/core/text.py): one definition serves every surface."""

from __future__ import annotations

from typing import Any

import pytest

from apps.core.text import identifier_problem, is_invisible, parse_integer, unsafe_char


@pytest.mark.parametrize(
    ("text", "found"),
    [("a\x00b", "U+0000"), ("\ud800", "U+D800"), ("x\udfff", "U+DFFF"), ("plain é 😀", None)],
)
def test_unsafe_char_finds_nul_and_lone_surrogates_only(text: str, found: str | None) -> None:
    assert unsafe_char(text) == found


@pytest.mark.parametrize(
    "value",
    [
        "secret\u200b-a",  # zero-width space: looks exactly like secret-a
        "a\u202eb",  # right-to-left override
        "a\u2066b",  # left-to-right isolate
        "a\u0085b",  # C1 (next line)
        "a\x9fb",  # C1
        "a\x07b",  # C0
        "a\x7fb",  # DEL
        "a\ufeffb",  # BOM / zero-width no-break space
        "a\u2028b",  # line separator
        "a\U000e0041b",  # tag character
        "\u3164",  # Hangul filler alone
        "\u2800\u2800",  # braille blanks
        "\u0301",  # a combining mark alone
    ],
)
def test_identifiers_refuse_invisible_control_and_direction_characters(value: str) -> None:
    assert identifier_problem(value) is not None


@pytest.mark.parametrize("value", ["alice", "user-42_x", "café", "ユーザー", "a b", "e\u0301"])
def test_identifiers_take_visible_text_of_any_script(value: str) -> None:
    assert identifier_problem(value) is None


@pytest.mark.parametrize("text", ["", " ", "\u200b" * 9999, "\u200b \u2060\ufeff\n", "\u3164"])
def test_text_with_nothing_visible_is_invisible(text: str) -> None:
    assert is_invisible(text)


@pytest.mark.parametrize("text", ["a", "\u200ba", ".", "😀"])
def test_text_with_something_visible_is_not_invisible(text: str) -> None:
    assert not is_invisible(text)


@pytest.mark.parametrize(
    ("value", "number"), [(5, 5), (-1, -1), ("5", 5), ("-1", -1), ("007", 7), (0, 0)]
)
def test_integers_are_json_integers_or_ascii_digits(value: Any, number: int) -> None:
    assert parse_integer(value) == number


@pytest.mark.parametrize(
    "value",
    [
        "\u0661",  # Arabic-Indic one
        "\uff11",  # fullwidth one
        "1_0",
        " 1 ",
        "+1",
        "1e3",
        "1.0",
        1.0,
        1e3,
        1e-400,
        True,
        False,
        None,
        "",
        "1" * 21,
        [1],
    ],
)
def test_nothing_else_is_an_integer(value: Any) -> None:
    assert parse_integer(value) is None
