"""Text as the content filter reads it: NFKC, full case folding, no default-ignorable
characters (:func:`fold_text`), and the Unicode word boundaries of whole-word matching
(RE2's ``\\b`` is ASCII-only). Also the RE2 options every filter regex compiles with."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import re2

#: RE2's memory budget per compiled Set/regex. RE2's default (8 MiB) fails at ~10,000
#: records; 100,000 records need ~100 MB. Records too large for one Set together are
#: split over several Sets instead of failing.
RE2_MAX_MEM = 256 << 20

# Unicode word characters for whole-word matching (letters, non-enclosing marks,
# digits, underscore). Enclosing marks (the keycap U+20E3) are not word characters.
_WORD = r"\pL\p{Mn}\p{Mc}\pN_"
# Scripts written without spaces between words: any of their characters is a boundary.
_NOSPACE = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\x{30FC}"
_MAX_MEM = RE2_MAX_MEM  # tests lower it to force a split
# Default_Ignorable_Code_Point (Unicode), removed by folding as NFKC_Casefold does:
# soft hyphen, zero-width space/joiners, bidi controls, variation selectors, tags.
_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)


def _options(*, capture: bool = False) -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = _MAX_MEM
    options.never_capture = not capture
    return options


_NOSPACE_CHAR = re2.compile(f"^[{_NOSPACE}]$", _options())


def normalize_text(text: str) -> str:
    """NFKC, so fullwidth and decomposed spellings compare equal to plain ones."""
    return unicodedata.normalize("NFKC", text)


def fold_text(text: str) -> str:
    """What matching sees: NFKC, full case folding, no default-ignorable characters,
    ``i`` + combining dot above (the folding of ``İ``) read as ``i``."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text).casefold()
    if "\u0307" in text:
        text = text.replace("i\u0307", "i")
    return _IGNORABLE.sub("", text)


@lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    return fold_text(char)


@lru_cache(maxsize=8192)
def _is_nospace(char: str) -> bool:
    return bool(char) and _NOSPACE_CHAR.search(char) is not None


def _char_offset(encoded: bytes, offset: int) -> int:
    return len(encoded[:offset].decode("utf-8", "replace"))


def _byte_boundary_before(encoded: bytes, offset: int) -> bool:
    if offset == 0:
        return True
    if encoded[offset - 1] < 0x80:
        return not _is_word_char(chr(encoded[offset - 1]))
    return not _is_word_char(encoded[max(0, offset - 4) : offset].decode("utf-8", "ignore")[-1:])


def _byte_boundary_after(encoded: bytes, offset: int) -> bool:
    if offset >= len(encoded):
        return True
    if encoded[offset] < 0x80:
        return not _is_word_char(chr(encoded[offset]))
    return not _is_word_char(encoded[offset : offset + 4].decode("utf-8", "ignore")[:1])


def _boundary_before(text: str, index: int) -> bool:
    return index == 0 or not _is_word_char(text[index - 1])


def _boundary_after(text: str, index: int) -> bool:
    return index >= len(text) or not _is_word_char(text[index])


@lru_cache(maxsize=8192)
def _is_word_char(char: str) -> bool:
    """A character that continues a word (so it is no word boundary)."""
    if char.isascii():
        return char.isalnum() or char == "_"
    category = unicodedata.category(char)
    if category[0] in "LN" or category in ("Mn", "Mc"):
        return not _is_nospace(char)
    return False


def _fold_with_map(text: str) -> tuple[str, list[int], list[int]]:
    """The folded text, and for each of its characters the start and end (in ``text``)
    of the original character (with its combining marks) it comes from."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        folded = fold_text(text[i:j])
        out.append(folded)
        starts.extend([i] * len(folded))
        ends.extend([j] * len(folded))
        i = j
    return "".join(out), starts, ends
