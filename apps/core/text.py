"""What text the product refuses, decided once (docs/security.md, "Hostile input").

- **Anywhere** (every string of a body at any depth, object keys, path and query values):
  NUL (PostgreSQL cannot store it) and lone surrogates (no encoding can carry them).
- **In identifiers** (``channelId``, ``userId``, role ids, ...): also C0 and C1 control
  characters, Unicode format characters (category Cf: bidi overrides and isolates,
  zero-width spaces and joiners, the BOM, ...), line and paragraph separators, and ids
  that are invisible altogether. ``secret\\u200b-a`` must not pass for ``secret-a``.
- **Integers** are JSON integers or ASCII digits: nothing that only Python's ``int()``
  would read as one.
- **Invisible text**: nothing but whitespace, format characters, combining marks and the
  blank "filler" letters counts as empty (a message of 9,999 U+200B says nothing).

All checks are single regex scans: linear in the text's length.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from typing import Any

#: NUL and any surrogate code point (in a Python str a surrogate is always unpaired).
_UNSAFE = re.compile("[\x00\ud800-\udfff]")


#: Planes 2 to 13 hold no format characters and no combining marks (CJK extensions,
#: unassigned): skipping them makes building the classes below ~5x faster. U+1FFFF is
#: unassigned, so no run of code points crosses the gap.
_PLANES_SCANNED = (*range(0x20000), *range(0xE0000, sys.maxunicode + 1))


def _category_class(*categories: str) -> str:
    """A regex character class of every code point in ``categories`` (built once)."""
    ranges: list[str] = []
    start = previous = None
    for code in _PLANES_SCANNED:
        if unicodedata.category(chr(code)) in categories:
            if start is None:
                start = code
            previous = code
            continue
        if start is not None:
            ranges.append(_range(start, previous))
            start = None
    if start is not None:
        ranges.append(_range(start, previous))
    return "".join(ranges)


def _range(start: int, end: int | None) -> str:
    first = re.escape(chr(start))
    return first if end == start else f"{first}-{re.escape(chr(end))}"


_FORMAT = _category_class("Cf")
#: Control characters (C0, DEL, C1), format characters, line/paragraph separators.
_NOT_IN_IDENTIFIERS = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_FORMAT}\ud800-\udfff]")
#: Letters and symbols that render as nothing (Hangul fillers, braille blank, ...).
_FILLERS = "\u115f\u1160\u17b4\u17b5\u180e\u2800\u3164\uffa0"
_MARKS = _category_class("Mn", "Me")
#: Text made of nothing visible.
_INVISIBLE = re.compile(f"[\\s{_FORMAT}{_MARKS}{_FILLERS}\x00-\x1f\x7f-\x9f]*")


def unsafe_char(text: str) -> str | None:
    """The first NUL or lone surrogate in ``text``, as ``U+XXXX``, or None."""
    match = _UNSAFE.search(text)
    return None if match is None else f"U+{ord(match.group()):04X}"


def is_invisible(text: str) -> bool:
    """True if ``text`` shows nothing: empty, or only whitespace, format characters,
    combining marks and blank fillers."""
    return _INVISIBLE.fullmatch(text) is not None


def identifier_problem(value: str) -> str | None:
    """Why ``value`` cannot be an identifier, or None if it can."""
    match = _NOT_IN_IDENTIFIERS.search(value)
    if match is not None:
        char = match.group()
        name = unicodedata.name(char, "a control character")
        return (
            f"Must not contain U+{ord(char):04X} ({name.lower()}): invisible or control "
            "characters are not allowed."
        )
    if value and is_invisible(value):
        return "Must contain a visible character."
    return None


_ASCII_INTEGER = re.compile(r"-?[0-9]{1,20}")


def parse_integer(value: Any) -> int | None:
    """``value`` as an int if it is a JSON integer or a string of ASCII digits (with an
    optional leading minus), else None. Python's ``int()`` also takes Arabic-Indic and
    fullwidth digits, ``"1_0"`` and ``" 1 "``, and DRF's IntegerField reads the float
    ``1e-400`` as 0: none of them is an integer here."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _ASCII_INTEGER.fullmatch(value):
        return int(value)
    return None
