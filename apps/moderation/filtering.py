"""The content filter: blacklist and whitelist records compiled into one matcher.

Every path that creates or edits message text goes through
:func:`filter_message_texts` (policy aware: block, flag or mask);
:func:`check_message_text` is the block-only form. Patterns run on RE2 (linear time
in the text, no backtracking), so a hostile pattern such as ``(a+)+$`` is harmless;
patterns RE2 cannot compile (backreferences, lookaround), patterns that can match
empty text and patterns whose compiled program is too large are refused at creation
(``invalid_pattern``).

Matching (docs/api/content-filter.md): on *folded* text: NFKC, then full Unicode case
folding (``str.casefold``: ß = ss, capital, small and final sigma alike, İ = I = i),
default-ignorable characters (soft hyphen, zero-width space/joiner, variation
selectors) removed. The literal
characters of a pattern are folded the same way when the matcher is built (escapes,
classes and flags are left alone) and RE2 also runs case-insensitively.
``isMatchExactWord`` means whole words only: the characters around the match must not
be Unicode letters, (non-enclosing) marks, digits or ``_``; a character of a script
written without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar) counts as
a boundary, and a pattern that starts or ends with such a character needs no boundary
on that side. The boundary handling is ours (RE2's ``\\b`` is ASCII-only).

How it stays flat as records grow to 100,000: every pattern goes, unwrapped, into one
RE2 ``Set`` (one DFA pass over the text, whatever the record count). A Set hit on an
exact-word record is confirmed on its own: a plain word by ``str.find`` plus our
boundary test, a true regex by its boundary-wrapped RE2 regex (compiled lazily, only
for candidates), because wrapping all 100,000 patterns in Unicode boundary classes
would multiply the program size by ~400. ``benchmarks/filter.py`` measures it.

Freshness: the matcher is cached per process and per organization (a bounded LRU),
tagged with the organization's ``filter_version``, which the record services bump in
the same transaction as the change. A process reads that version at most once per
:data:`VERSION_TTL` seconds per organization (so most messages cost no query), and
the process that made the change forgets its cached version at once: a change applies
in every process within a second.
"""

from __future__ import annotations

import re
import stringprep
import threading
import time
import unicodedata
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

import re2
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.core.errors import DomainError
from apps.organizations.models import Organization

from .models import BlacklistRecord, WhitelistRecord

#: Longest pattern (after normalization), in characters: the column's size.
MAX_PATTERN_LENGTH = 255
#: Largest RE2 program one pattern may compile to (``bad`` is 7, ``.{100}`` ~800,
#: ``\pL{100}`` ~120,000 and is refused).
MAX_PROGRAM_SIZE = 5_000
#: Organizations whose matcher one process keeps.
CACHE_SIZE = 256
#: Seconds a process trusts the organization's ``filter_version`` it last read: the
#: bound on how long a record change made in another process may go unseen.
VERSION_TTL = 1.0
#: RE2's memory budget per compiled Set/regex. RE2's default (8 MiB) fails at ~10,000
#: records; 100,000 records need ~100 MB. Records too large for one Set together are
#: split over several Sets instead of failing.
RE2_MAX_MEM = 256 << 20
#: Compiled per-record regexes one matcher keeps (true regexes only; plain words need
#: none), and boundary-wrapped ones (each ~0.5 MB once used).
REGEX_CACHE_SIZE = 4096
WRAPPED_CACHE_SIZE = 32
#: RE2 calls the whole-word check of one true regex may spend on one text before it
#: hands over to the (linear-time, costly to compile) boundary-wrapped regex.
EXACT_REGEX_BUDGET = 64
#: Longest host a whitelist allows: a domain name has at most 253 characters.
MAX_HOST_LENGTH = 253
#: What a matched span becomes under the ``mask`` policy.
MASK = "***"
#: Mask passes before a text that still matches is blocked instead (a pattern that
#: matches the mask itself, such as ``\*+``, cannot be masked away).
MAX_MASK_PASSES = 3

# Unicode word characters for whole-word matching (letters, non-enclosing marks,
# digits, underscore). Enclosing marks (the keycap U+20E3) are not word characters.
_WORD = r"\pL\p{Mn}\p{Mc}\pN_"
# Scripts written without spaces between words: any of their characters is a boundary.
_NOSPACE = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\x{30FC}"
_MAX_MEM = RE2_MAX_MEM  # tests lower it to force a split
# Texts on which a pattern must not find an empty match (``^``, ``\b``, ``a*``, ...).
_EMPTY_PROBES = ("", " ", "a", "a b", "Hello, world.\n", "1")
# Default_Ignorable_Code_Point (Unicode), removed by folding as NFKC_Casefold does:
# soft hyphen, zero-width space/joiners, bidi controls, variation selectors, tags.
_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
# Characters that make a pattern a true regular expression (not a plain word).
_META = frozenset("\\.^$|?*+()[]{}")


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


def _skip_escape(pattern: str, i: int) -> int:
    """Index after the escape sequence starting at ``pattern[i] == '\\'``."""
    n = len(pattern)
    if i + 1 >= n:
        return n
    kind = pattern[i + 1]
    if kind in "pPx" and i + 2 < n:
        if pattern[i + 2] == "{":
            end = pattern.find("}", i + 2)
            return n if end < 0 else end + 1
        return min(n, i + (4 if kind == "x" else 3))
    return i + 2


def fold_pattern(pattern: str) -> str:
    """The pattern with its literal characters case-folded like :func:`fold_text`.

    Escapes (``\\S``, ``\\pL``, ``\\x{DF}``), flags (``(?i)``), group names and
    repetition counts are copied. A literal that folds to several characters becomes
    a group (``ß+`` → ``(?:ss)+``). Inside a character class letters are left to RE2's
    case-insensitive matching; a letter there that folds to several characters adds
    an alternative (``[aß]`` → ``(?:[aß]|ss)``) unless the class is negated. ASCII
    patterns are returned unchanged (RE2's case-insensitivity already folds ASCII).
    """
    if pattern.isascii():
        return pattern
    pattern = unicodedata.normalize("NFKC", pattern).replace("i\u0307", "i")
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\":
            if pattern.startswith("\\Q", i):  # \Q...\E: literal text
                end = pattern.find("\\E", i + 2)
                stop = n if end < 0 else end
                out.append("\\Q" + fold_text(pattern[i + 2 : stop]) + "\\E")
                i = n if end < 0 else end + 2
                continue
            end = _skip_escape(pattern, i)
            out.append(pattern[i:end])
            i = end
        elif char == "[":
            i = _fold_class(pattern, i, out)
        elif char == "(" and pattern.startswith("(?", i):
            end = i + 2
            while end < n and pattern[end] not in ":)>":
                end += 1
            out.append(pattern[i : end + 1])
            i = end + 1
        elif char == "{":
            end = pattern.find("}", i)
            end = n - 1 if end < 0 else end
            out.append(pattern[i : end + 1])
            i = end + 1
        elif char in _META:
            out.append(char)
            i += 1
        else:
            folded = _fold_char(char)
            out.append(folded if len(folded) == 1 else f"(?:{folded})")
            i += 1
    return "".join(out)


def _fold_class(pattern: str, i: int, out: list[str]) -> int:
    """Copy the character class at ``pattern[i] == '['``; return the index after it."""
    n = len(pattern)
    start = i
    i += 1
    negated = i < n and pattern[i] == "^"
    if negated:
        i += 1
    if i < n and pattern[i] == "]":  # a leading ] is literal
        i += 1
    extras: list[str] = []
    while i < n and pattern[i] != "]":
        char = pattern[i]
        if char == "\\":
            i = _skip_escape(pattern, i)
            continue
        if pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            i = n if end < 0 else end + 2
            continue
        folded = _fold_char(char)
        in_range = pattern[i - 1 : i] == "-" or (
            pattern[i + 1 : i + 2] == "-" and pattern[i + 2 : i + 3] not in ("]", "")
        )
        if len(folded) != 1 and folded and not in_range:
            extras.append(folded)
        i += 1
    i = min(n, i + 1)
    body = pattern[start:i]
    if extras and not negated:
        out.append("(?:" + "|".join([body, *dict.fromkeys(extras)]) + ")")
    else:
        out.append(body)
    return i


def is_plain_word(pattern: str) -> bool:
    """True for a pattern without regex syntax: matched as a literal string."""
    return not any(char in _META for char in pattern)


def _wrap(pattern: str, exact_word: bool) -> str:
    if not exact_word:
        return f"(?:{pattern})"
    left = "" if _is_nospace(pattern[:1]) else rf"(?:^|[^{_WORD}]|[{_NOSPACE}])"
    right = "" if _is_nospace(pattern[-1:]) else rf"(?:[^{_WORD}]|[{_NOSPACE}]|$)"
    return f"{left}(?:{pattern}){right}"


def _invalid(pattern: str, why: str, field_name: str) -> DomainError:
    return DomainError("invalid_pattern", f"{pattern!r} {why}", field=field_name)


def validate_blacklist_pattern(pattern: str, *, field_name: str = "regexs") -> str:
    """The pattern, normalized (NFKC, trimmed), or DomainError(invalid_pattern)."""
    pattern = normalize_text(pattern).strip()
    if not pattern:
        raise DomainError("invalid_pattern", "The pattern is empty.", field=field_name)
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise _invalid(pattern[:40], f"is longer than {MAX_PATTERN_LENGTH} characters.", field_name)
    if any(unicodedata.category(ch) == "Cc" for ch in pattern):
        raise _invalid(pattern, "contains control characters.", field_name)
    try:
        # The pattern must compile on its own, so that wrapping it cannot change its
        # meaning (``a)|(b`` would escape the wrapper); so must its folded form.
        re2.compile(pattern, _options())
        folded = fold_pattern(pattern)
        compiled = re2.compile(folded, _options())
        re2.compile(_wrap(folded, True), _options())
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise _invalid(
            pattern,
            "is not a valid pattern (RE2 syntax: no backreferences or lookaround; escape "
            f"special characters with a backslash to match them literally): {detail}",
            field_name,
        ) from exc
    if compiled.programsize > MAX_PROGRAM_SIZE:
        raise _invalid(pattern, "is too complex (its compiled program is too large).", field_name)
    for probe in _EMPTY_PROBES:
        if any(m.start() == m.end() for m in compiled.finditer(probe)):
            raise _invalid(
                pattern, "can match empty text, so it would block every message.", field_name
            )
    if not fold_text(pattern).strip():
        raise _invalid(pattern, "has no visible characters.", field_name)
    return pattern


# --- Whitelist ----------------------------------------------------------------------

_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")


@lru_cache(maxsize=4096)
def _idna(host: str) -> str:
    """The host in ASCII (punycode for internationalized names), lowercase: the
    standard library's ``idna`` codec (IDNA 2003), or the host unchanged if it
    refuses. ``_fast_idna`` gives the codec's exact result for common hosts ~5 times faster."""
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    fast = _fast_idna(host)
    if fast is not None:
        return fast
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


# The idna codec splits on these (encodings.idna.dots).
_IDNA_DOTS = re.compile("[\u002e\u3002\uff0e\uff61]")


@lru_cache(maxsize=8192)
def _nameprep_fixed(char: str) -> bool:
    """Whether nameprep (``encodings.idna.nameprep``) leaves ``char`` alone: not
    mapped to nothing (B.1), mapped to itself (B.2), not prohibited (C.1.2-C.9; the
    codec checks these, not C.1.1/C.2.1), and not RandAL (D.1: no bidi checks)."""
    return not (
        stringprep.in_table_b1(char)
        or stringprep.map_table_b2(char) != char
        or stringprep.in_table_c12(char)
        or stringprep.in_table_c22(char)
        or stringprep.in_table_c3(char)
        or stringprep.in_table_c4(char)
        or stringprep.in_table_c5(char)
        or stringprep.in_table_c6(char)
        or stringprep.in_table_c7(char)
        or stringprep.in_table_c8(char)
        or stringprep.in_table_c9(char)
        or stringprep.in_table_d1(char)
    )


def _fast_idna(host: str) -> str | None:
    """``host.encode("idna")`` for a lowercase non-ASCII host whose labels need no
    nameprep work, else None (the caller then runs the codec itself).

    Why it is exact (encodings.idna, RFC 3490/3491): the codec splits on ``_IDNA_DOTS``
    and joins ``ToASCII(label)`` with "."; an ASCII label of 1-63 characters is kept as
    is. For a non-ASCII label, nameprep maps each character (B.1 to nothing, else B.2),
    NFKC-normalizes (Unicode 3.2), refuses prohibited characters and checks bidi only
    if there is a RandAL character. If every character is ``_nameprep_fixed`` and the
    label is NFKC-normalized (3.2), the mapping is the identity, NFKC changes nothing
    and nothing is refused: nameprep returns the label itself. ToASCII then refuses an
    ``xn--`` label (we return None), and otherwise gives "xn--" + punycode, refused
    from 64 bytes (None). Anything else (an empty label, a character nameprep would
    change) returns None. tests/moderation/test_filtering_semantics.py fuzzes this
    against the codec."""
    out = []
    for label in _IDNA_DOTS.split(host):
        if label.isascii():
            if not 0 < len(label) < 64:
                return None
            out.append(label)
            continue
        if (
            label.lower().startswith("xn--")
            or not all(map(_nameprep_fixed, label))
            or not _UCD_3_2.is_normalized("NFKC", label)
        ):
            return None
        encoded = "xn--" + _punycode(label)
        if len(encoded) >= 64:
            return None
        out.append(encoded)
    return ".".join(out)


def _punycode(label: str) -> str:
    """RFC 3492 encoding of ``label`` (the same as ``label.encode("punycode")``,
    which is ~4 times slower): basic code points, "-" if any, then the deltas."""
    codes = [ord(char) for char in label]
    output = [char for char in label if ord(char) < 0x80]
    handled = basic = len(output)
    if basic:
        output.append("-")
    n, delta, bias = 0x80, 0, 72
    for m in sorted({code for code in codes if code >= 0x80}):
        delta += (m - n) * (handled + 1)
        n = m
        for code in codes:
            if code < n:
                delta += 1
            elif code == n:
                q, k = delta, 36
                while True:
                    t = 1 if k <= bias else 26 if k >= bias + 26 else k - bias
                    if q < t:
                        break
                    digit = t + (q - t) % (36 - t)
                    output.append(_PUNY_DIGITS[digit])
                    q = (q - t) // (36 - t)
                    k += 36
                output.append(_PUNY_DIGITS[q])
                # adapt(delta, handled + 1, first time)
                delta = delta // 700 if handled == basic else delta // 2
                delta += delta // (handled + 1)
                k = 0
                while delta > 455:  # ((36 - 1) * 26) // 2
                    delta //= 35
                    k += 36
                bias = k + (36 * delta) // (delta + 38)
                delta = 0
                handled += 1
        delta += 1
        n += 1
    return "".join(output)


_PUNY_DIGITS = "abcdefghijklmnopqrstuvwxyz0123456789"
_UCD_3_2 = unicodedata.ucd_3_2_0


@lru_cache(maxsize=4096)
def _clean_path(path: str) -> str:
    """Decoded, lowercase, dot segments resolved, no trailing slash: how a browser
    would resolve it, so ``/docs/../admin`` is ``/admin``."""
    if (not path or path[0] == "/") and not any(c in path for c in "%\\.") and "//" not in path:
        return path.lower().rstrip("/")  # the common case, same result
    segments: list[str] = []
    for segment in unquote(path).replace("\\", "/").lower().split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    return "/" + "/".join(segments) if segments else ""


def parse_whitelist_pattern(pattern: str, *, field_name: str = "regexs") -> tuple[str, str]:
    """A whitelist record as (host, path prefix). Scheme, ``www.``, port, query and
    fragment are ignored; the host is lowercased (punycode for IDN), the path prefix
    decoded and lowercased without a trailing slash."""
    value = normalize_text(pattern).strip().replace("\u3002", ".")
    if "://" not in value:
        value = "http://" + value
    host = ""
    path = ""
    try:
        parts = urlsplit(value.replace("\\", "/"))
        host = (parts.hostname or "").rstrip(".")
        path = parts.path
    except ValueError:
        host = ""
    host = _idna(host.removeprefix("*.").removeprefix("www."))
    if not host or not _HOST.match(host) or ("." not in host and host != "localhost"):
        raise _invalid(
            pattern,
            "is not a URL or domain (for example example.com or example.com/docs).",
            field_name,
        )
    return host, _clean_path(path)


def canonical_whitelist_pattern(pattern: str, *, field_name: str = "regexs") -> str:
    """How a whitelist record is stored and shown (its ruleId): ``host[/path]``."""
    host, path = parse_whitelist_pattern(pattern, field_name=field_name)
    canonical = host + path
    if len(canonical) > MAX_PATTERN_LENGTH:
        raise _invalid(pattern[:40], f"is longer than {MAX_PATTERN_LENGTH} characters.", field_name)
    return canonical


# URLs in message text (_URL is the definition): a hostless script or data link
# (``javascript:``, ``vbscript:``, ``data:``: see extract_urls), one with a scheme, one
# starting with www., or a bare domain (Unicode labels allowed) ending in an alphabetic
# top-level label.
_HOSTLESS_URL = r"(?:javascript|vbscript|data):[^\s<>\"']+"
_SCHEME_URL = r"[a-z][a-z0-9+.-]{0,15}://[^\s<>\"']+"
_WWW_URL = r"www\.[^\s<>\"']+"
_BARE_TAIL = r"[^\W\d_]{2,24}(?::\d{1,5})?(?:[/?#][^\s<>\"']*)?"
_URL = re.compile(
    rf"(?i)\b(?:{_HOSTLESS_URL}|{_SCHEME_URL}|{_WWW_URL}|"
    r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+" + _BARE_TAIL + ")"
)
_HOSTLESS_SCHEME = re.compile(r"(?i)(?:javascript|vbscript|data):")

# _URL.finditer takes quadratic time: Python's engine tries the bare-domain branch at
# every word start, and each try reads the whole chain of labels after it ("a.a.a.…",
# 10,000 characters: 1.4 s). _url_matches finds the same matches in linear time. Where
# the previous match ended it tries _URL once (a word is usually one link). Past that,
# it looks for the prefixed branches (which read at most 20 characters before they
# fail) only near their anchors, and tries the bare-domain branch at the next word
# start, then only at the first word start of the chain of labels before each
# top-level dot; a failed try skips the chain it has read (no start inside it can
# succeed). tests/moderation/test_filtering_adversarial.py compares the two and counts
# the characters read.
_PREFIXED_URL = re.compile(rf"(?i)\b(?:{_HOSTLESS_URL}|{_SCHEME_URL}|{_WWW_URL})")
_PREFIXED_START = re.compile(
    r"(?i)\b(?:(?:javascript|vbscript|data):|[a-z][a-z0-9+.-]{0,15}+://|www\.)[^\s<>\"']"
)
# The ":" of "://", "script:", "data:" or the "." of "www." (in the case variants of
# the (?i) flag: long s U+017F is an "s", dotless U+0131 and dotted U+0130 are "i"s). A
# prefixed URL starts at most 16 characters before its anchor, and its _PREFIXED_START
# is at most 20 characters long.
_PREFIXED_ANCHOR = re.compile(
    r":(?://|(?<=[sS\u017f][cC][rR][iI\u0131\u0130][pP][tT]:)|(?<=[dD][aA][tT][aA]:))"
    r"|\.(?<=[wW]{3}\.)"
)
_PREFIXED_WINDOW = 256
# A label and its dot, read without backtracking (the label of _URL: 1-63 word
# characters or hyphens, the first and the last a letter or digit).
_LABEL = r"(?=[^\W_])[\w-]{1,63}+(?<=[^\W_])\."
_BARE_URL = re.compile(rf"(?i)(?:{_LABEL})+{_BARE_TAIL}")
_LABEL_CHAIN = re.compile(rf"(?:{_LABEL})++")
_LABEL_RUN = re.compile(r"[\w-]*")
_WORD_START = re.compile(r"\b[^\W_]")
# In the reversed text: a top-level dot (two letters after it in the text) with a label
# before it that starts at a word start. Every bare-domain URL holds one.
_TLD_DOT_REVERSED = re.compile(r"\.(?<=[^\W\d_]{2}\.)(?=[^\W_](?:[\w-]{0,61}[^\W_])?(?!\w))")
# In the reversed text, from the character before a top-level dot: the whole labels
# (and dots) of the chain before it, then at most 63 characters of the run before
# them: where a bare-domain URL through that dot can start.
_CHAIN_BEFORE_REVERSED = re.compile(r"(?:(?=[^\W_])[\w-]{1,63}+(?<=[^\W_])\.)*+[\w-]{0,63}+")


def _url_matches(text: str) -> Iterator[re.Match[str]]:
    """The matches of ``_URL.finditer(text)``, in time linear in the text's length."""
    size = len(text)
    pos = 0
    prefixed_at = -1
    bare: _BareScan | None = None
    while pos < size:
        # A link right here (a word is usually one): _URL itself, tried once per match.
        match = _URL.match(text, pos)
        if match is None:
            if prefixed_at <= pos:
                prefixed_at = _next_prefixed_start(text, pos + 1)
            if prefixed_at > pos + 1:  # a bare domain starting before it comes first
                # (if _URL's bare branch just failed at pos, past what that try read)
                at = _after_failed_bare(text, pos) if _WORD_START.match(text, pos) else pos
                start = _WORD_START.search(text, max(at, pos + 1), prefixed_at)
                if start is not None:
                    match, after = _bare_url_at(text, start.start())
                    if match is None and after < prefixed_at:
                        bare = bare or _BareScan(text)
                        match = bare.next(after, prefixed_at)
            if match is None:
                if prefixed_at >= size:
                    return
                match = _PREFIXED_URL.match(text, prefixed_at)
                assert match is not None  # _PREFIXED_START matched there
        yield match
        pos = match.end()


def _next_prefixed_start(text: str, pos: int) -> int:
    """Where the first match of _URL's prefixed branches at or after ``pos`` starts
    (``len(text)`` if none): searched only from 16 characters before an anchor, a
    window at a time."""
    while (anchor := _PREFIXED_ANCHOR.search(text, pos)) is not None:
        low = max(pos, anchor.start() - 16)
        high = anchor.start() + _PREFIXED_WINDOW  # the window: starts up to here
        found = _PREFIXED_START.search(text, low, high + 21)
        if found is not None and found.start() <= high:
            return found.start()
        pos = high + 1
    return len(text)


def _bare_url_at(text: str, at: int) -> tuple[re.Match[str] | None, int]:
    """The match of _URL's bare-domain branch at the word start ``at``, or None and
    where the branch may next succeed (:func:`_after_failed_bare`)."""
    found = _BARE_URL.match(text, at)
    if found is not None:
        return found, found.end()
    return None, _after_failed_bare(text, at)


def _after_failed_bare(text: str, at: int) -> int:
    """Where _URL's bare-domain branch may next succeed after failing at the word start
    ``at``. The try read the chain of labels from ``at``: a start inside it has the same
    labels after it, so it fails too. With no chain (the label run from ``at`` is longer
    than 63 characters, or ends in "-" or "_", or not before a "."), only a start in the
    last 63 characters of the run can have one."""
    chain = _LABEL_CHAIN.match(text, at)
    if chain is not None:
        return chain.end()
    end = _LABEL_RUN.match(text, at).end()  # type: ignore[union-attr]
    if end - at > 63 and text.startswith(".", end) and text[end - 1] not in "-_":
        return end - 63
    return end


class _BareScan:
    """The bare-domain matches of one text, from its top-level dots (found once, in the
    reversed text): for each dot, where the chain of labels before it can start, then
    the first word start from there that matches."""

    __slots__ = ("dot", "dots", "index", "low", "reversed", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.reversed = text[::-1]
        last = len(text) - 1
        self.dots = [last - m.start() for m in _TLD_DOT_REVERSED.finditer(self.reversed)]
        self.dots.reverse()
        self.index = 0
        self.dot = self.low = -1

    def next(self, pos: int, limit: int) -> re.Match[str] | None:
        """The first bare-domain match that starts in [pos, limit), if no start in
        [0, pos) is left to try (calls come with growing ``pos``)."""
        text, dots = self.text, self.dots
        size = len(text)
        i = self.index
        if i < len(dots) and dots[i] < pos:
            i = bisect_left(dots, pos, i)
        while i < len(dots):
            dot = dots[i]
            self.index = i
            if dot != self.dot:
                back = _CHAIN_BEFORE_REVERSED.match(self.reversed, size - dot)
                self.dot, self.low = dot, size - back.end()  # type: ignore[union-attr]
            at = max(pos, self.low)
            end = min(dot, limit)
            while at < end and (start := _WORD_START.search(text, at, end)) is not None:
                found, at = _bare_url_at(text, start.start())
                if found is not None:
                    return found
            if limit <= dot:  # this dot's other starts are at or after limit
                return None
            i += 1
        self.index = i
        return None


# File extensions that are not top-level domains: ``report.pdf`` is not a URL. (Real
# TLDs such as .zip, .mov, .py, .md are NOT listed: those stay URLs.)
_NOT_TLDS = frozenset(
    [
        "txt",
        "pdf",
        "doc",
        "docx",
        "xls",
        "xlsx",
        "ppt",
        "pptx",
        "odt",
        "ods",
        "jpg",
        "jpeg",
        "png",
        "gif",
        "webp",
        "svg",
        "bmp",
        "tif",
        "tiff",
        "heic",
        "csv",
        "json",
        "xml",
        "html",
        "htm",
        "exe",
        "dll",
        "mp3",
        "mp4",
        "m4a",
        "wav",
        "flac",
        "ogg",
        "avi",
        "mkv",
        "tar",
        "gz",
        "tgz",
        "bz2",
        "rar",
        "js",
        "ts",
        "css",
        "scss",
        "yaml",
        "yml",
        "toml",
        "log",
        "ini",
        "cfg",
        "conf",
        "bak",
        "tmp",
        "jsx",
        "tsx",
        "php",
    ]
)


# Characters whose NFKC form contains ".", ":" or "。" (a test checks this against the
# whole Unicode table). After NFKC a URL needs "." or "。" (or "://"), and NFKC only
# ever produces those characters from these: a word without one needs no normalizing.
_DOTLIKE = re.compile(
    "[.:\u2024-\u2026\u2488-\u249b\u2a74\u3002\u33c2\u33c7\u33d8\ufe12\ufe13\ufe19"
    "\ufe30\ufe52\ufe55\uff0e\uff1a\uff61\U0001f100]"
)
# Where a match of _URL can be: each one contains "://" (with a scheme), "www." in any
# case (its ``www.`` branch), "script:" or "data:" before a character of the link (a
# hostless link, in the case variants of the (?i) flag), or a dot followed by two
# letters (the dot before a bare domain's top-level label, ``[^\W\d_]{2,24}``); "。"
# counts as a dot. A word with none of them holds no URL: a sentence period ("end."),
# "3.14", "..." or "a.b" is skipped at once.
_URL_HINT = re.compile(
    r"[.\u3002](?:(?=[^\W\d_]{2})|(?<=[wW]{3}.))"
    r"|:(?://|(?<=[sS\u017f][cC][rR][iI\u0131\u0130][pP][tT]:)(?=[^\s<>\"'])"
    r"|(?<=[dD][aA][tT][aA]:)(?=[^\s<>\"']))"
)
# Whole words, each with the whitespace after it, possessive (no backtracking): matched
# from outside a word up to ``at``, it ends where the word holding ``at`` starts.
# Python's ``\s`` is ``str.isspace``, what ``str.split`` cuts on.
_GAP = re.compile(r"(?:\S*+\s++)*+")
_NONSPACE_RUN = re.compile(r"\S*")


def _word_start(text: str, low: int, at: int) -> int:
    """Where the word holding ``text[at]`` starts, given that no word starts before
    ``low``: after the last " " before ``at`` (found backwards, in C) or, if other
    whitespace follows it (every whitespace but " " is unprintable), after that."""
    start = text.rfind(" ", low, at) + 1 or low
    if not text[start:at].isprintable():
        start = _GAP.match(text, start, at).end()  # type: ignore[union-attr]
    return start


def _words_with(pattern: re.Pattern[str], text: str) -> Iterator[str]:
    """The words of ``text`` (as ``text.split()`` cuts them) in which ``pattern`` has a
    match starting at a non-space character, in order: one C-level search per such
    word instead of a Python test per word. Each character is read a bounded number of
    times: the search for a word's start stops at the end of the previous word."""
    end = 0
    while (found := pattern.search(text, end)) is not None:
        at = found.start()
        start = _word_start(text, end, at)
        end = _NONSPACE_RUN.match(text, at).end()  # type: ignore[union-attr]
        yield text[start:end]


@lru_cache(maxsize=4096)
def _word_urls(word: str) -> tuple[tuple[str, str], ...]:
    """``extract_urls`` of one word (no whitespace), cached: URLs repeat in chats."""
    return tuple(_iter_urls(word))


def extract_urls(text: str) -> list[tuple[str, str]]:
    """(host, path) of every URL in the text. Email addresses are not URLs. A link
    with a hostless scheme that runs code or carries a document (``javascript:``,
    ``vbscript:``, ``data:``, in any case) is (its scheme and colon, lowercase; the rest
    as written): no whitelist record can allow it (:meth:`Matcher.url_allowed`)."""
    return list(_iter_urls(text))


# The common case, read by C-level matches: plain ASCII hosts (letters, digits and
# hyphens; no "www." label first), each followed by the end of the text, whitespace or
# punctuation that can neither continue nor start a URL. _URL reads each of them as
# one whole bare-domain match: no other branch can start there (no ":", no "/", no
# "www."); the greedy labels take every label (each ends in "." and the last is
# followed by no "."), the top-level label every letter of the last one (2-24), and
# no port, path or "@" follows. So each yields (host, "") as _iter_urls would (the
# host lowercase, ASCII already), unless its top-level label is a file extension
# (``_NOT_TLDS``); no URL can start in the punctuation or whitespace, and the text
# after it reads the same on its own. Possessive (no backtracking); at most 126 labels
# before the top-level one (a domain name has at most 127), so a long chain of labels
# is soon left to the general path; at most 64 hosts a match, so that a refused host
# ends the check early.
_PLAIN_HOST = (
    r"(?![wW]{3}\.)"  # not the www. branch
    r"(?:[A-Za-z0-9][A-Za-z0-9-]{0,62}+(?<!-)\.){1,126}+"  # labels: 1-63 characters
    r"[A-Za-z]{2,24}+"  # the top-level label
)
_PLAIN_SEPARATOR = r"[,;!)\]}\s]"
_PLAIN_HOSTS = re.compile(rf"(?:{_PLAIN_HOST}(?:{_PLAIN_SEPARATOR}++|\Z)){{0,64}}+")
_PLAIN_SEPARATORS = re.compile(rf"{_PLAIN_SEPARATOR}+")
#: Words with a URL hint that ``Matcher.first_disallowed_url`` reads one at a time,
#: through the per-process word cache (quickest for the usual one or two links), before
#: it reads the rest as a text of many links (``Matcher._first_disallowed_of_many``); a
#: word over 256 characters goes there at once.
_FEW_URL_WORDS = 4


def _plain_hosts(plain: str) -> list[str]:
    """The URL hosts of a text that ``_PLAIN_HOSTS`` matches whole, each once, in order
    of first appearance: lowercase, file names left out."""
    return [
        host
        for host in dict.fromkeys(_PLAIN_SEPARATORS.split(plain.lower()))
        if host and host[host.rfind(".") + 1 :] not in _NOT_TLDS
    ]


def _iter_urls(text: str) -> Iterator[tuple[str, str]]:
    """:func:`extract_urls`, one URL at a time (the caller may stop at the first)."""
    text = text.replace("\u3002", ".")
    for match in _url_matches(text):
        raw = match.group(0)
        hostless = _HOSTLESS_SCHEME.match(raw) if raw[0] in "jJvVdD" else None
        if hostless is not None:
            yield hostless.group(0).lower(), raw[hostless.end() :]
            continue
        raw = raw.rstrip(".,;:!?)]}")
        # A scheme only at the start: "www.evil.com/a://good.com" is a link to
        # www.evil.com (as a chat client linkifies it), never to good.com.
        has_scheme = _SCHEME.match(raw) is not None
        if not has_scheme and (
            text[max(match.start() - 1, 0) : match.start()] == "@"
            or text[match.end() : match.end() + 1] == "@"
            or ("@" in raw and "@" in re.split(r"[/?#]", raw, maxsplit=1)[0])
        ):
            continue  # an email address, not a URL
        url = raw if has_scheme else "http://" + raw
        split = _split_url(url)
        if split is None:
            continue
        host, raw_path = split
        # A host too long for a domain name is refused whatever it is (url_allowed):
        # not worth converting (~2 µs per non-ASCII label).
        too_long = len(host) > MAX_HOST_LENGTH + 4  # + "www."
        host = (host.lower().rstrip(".") if too_long else _idna(host)).removeprefix("www.")
        if not host:
            continue
        if not has_scheme and not raw.lower().startswith("www."):
            tld = host.rsplit(".", 1)[-1]
            if tld in _NOT_TLDS and not raw_path:
                continue  # a file name such as report.pdf
        yield host, _clean_path(raw_path)


# The common ``scheme://host/path?query`` after the first "://": a plain host (no
# userinfo, port, IPv6 brackets or escapes) and a path without "%", "//" or "/." (no
# dot segments, nothing to decode). ``_split_url`` reads these directly.
_PLAIN_URL_REST = re.compile(r"([^/?#@:\[\]%]+)((?:/(?![/.])[^/?#%]*)*)(?:[?#].*)?", re.DOTALL)
_UNUSUAL_URL_CHAR = re.compile(r"[\\\t\r\n]")
#: A URL scheme and its "://" (RFC 3986: a letter, then letters, digits, "+", "-", ".").
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def _split_url(url: str) -> tuple[str, str] | None:
    """(host, raw path) as ``urlsplit`` reads them (None if it cannot): a direct split
    for the common ``scheme://host/path`` and ``urlsplit`` for anything unusual
    (userinfo, port, IPv6, backslashes, percent-escapes, dot segments)."""
    scheme_end = url.find("://")
    if (
        scheme_end > 0
        and _SCHEME.fullmatch(url, 0, scheme_end + 3) is not None
        and _UNUSUAL_URL_CHAR.search(url) is None
    ):
        plain = _PLAIN_URL_REST.fullmatch(url, scheme_end + 3)
        if plain is not None:
            return plain[1].lower().rstrip("."), plain[2]
    try:
        parts = urlsplit(url.replace("\\", "/"))  # browsers read \ as /
        return (parts.hostname or "").rstrip("."), parts.path
    except ValueError:
        return None


# --- The matcher --------------------------------------------------------------------


@dataclass
class Matcher:
    """One organization's compiled records. Build with :func:`compile_matcher`."""

    #: Blacklist patterns as stored (the ruleId named in errors), in creation order.
    patterns: list[str] = field(default_factory=list)
    exact: list[bool] = field(default_factory=list)
    #: The patterns with their literals case-folded: what is compiled.
    folded: list[str] = field(default_factory=list)
    #: The folded literal of a plain-word pattern (matched with ``str.find``), else None.
    literals: list[str | None] = field(default_factory=list)
    #: (RE2 Set, index of its first pattern in ``patterns``); one Set unless the records
    #: were too large to compile together.
    sets: list[tuple[re2.Set, int]] = field(default_factory=list)
    #: Whitelisted host -> path prefixes ("" allows every path of the host).
    whitelist: dict[str, list[str]] = field(default_factory=dict)
    #: Compiled on first use, per record (bounded LRUs): the plain regex (leftmost-first
    #: and longest-match) and, for exact words, the boundary-wrapped one.
    _regexes: OrderedDict[tuple[str, int], re2._Regexp] = field(default_factory=OrderedDict)
    _wrapped: OrderedDict[int, re2._Regexp] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def blacklist(self) -> bool:
        return bool(self.sets)

    def _regex(self, kind: str, index: int) -> re2._Regexp:
        """Record ``index``'s regex of ``kind``: ``plain`` (the pattern), ``longest``
        (the pattern, longest match) or ``wrapped`` (in our word boundaries, the pattern
        in group 1; its Unicode classes cost ~2 ms to compile, so it is the last resort)."""
        cache: OrderedDict[Any, re2._Regexp]
        cache, key, limit = (
            (self._wrapped, index, WRAPPED_CACHE_SIZE)
            if kind == "wrapped"
            else (self._regexes, (kind, index), REGEX_CACHE_SIZE)
        )
        with self._lock:
            regex = cache.get(key)
            if regex is not None:
                cache.move_to_end(key)
                return regex
        options = _options(capture=kind == "wrapped")
        pattern = self.folded[index]
        if kind == "wrapped":
            pattern = _wrap(f"({pattern})", True)
        elif kind == "longest":
            options.longest_match = True
        regex = re2.compile(pattern, options)
        with self._lock:
            cache[key] = regex
            while len(cache) > limit:
                cache.popitem(last=False)
        return regex

    def _spans(
        self, index: int, text: str, encoded: bytes, first_only: bool = False
    ) -> list[tuple[int, int]]:
        """Where record ``index`` matches the folded text (non-overlapping character
        offsets; ``encoded`` is the same text in UTF-8, what RE2 reads)."""
        literal = self.literals[index]
        if literal is not None:
            return self._literal_spans(index, literal, text, first_only)
        if not self.exact[index]:
            spans = []
            for found in self._regex("plain", index).finditer(encoded):
                spans.append(found.span())
                if first_only:
                    break
        else:
            found_spans = self._exact_regex_spans(index, encoded, first_only)
            if found_spans is None:  # out of budget: the linear-time wrapped regex decides
                found_spans = self._wrapped_spans(index, encoded, first_only)
            spans = found_spans
        if first_only or text.isascii():
            return spans
        return [(_char_offset(encoded, a), _char_offset(encoded, b)) for a, b in spans]

    def _literal_spans(
        self, index: int, literal: str, text: str, first_only: bool
    ) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        exact = self.exact[index]
        size = len(literal)
        left_free = _is_nospace(literal[0])
        right_free = _is_nospace(literal[-1])
        start = text.find(literal)
        while start >= 0:
            end = start + size
            if not exact or (
                (left_free or _boundary_before(text, start))
                and (right_free or _boundary_after(text, end))
            ):
                spans.append((start, end))
                if first_only:
                    break
                start = text.find(literal, end)
            else:
                start = text.find(literal, start + 1)
        return spans

    def _exact_regex_spans(
        self, index: int, encoded: bytes, first_only: bool
    ) -> list[tuple[int, int]] | None:
        """Whole-word matches (byte offsets) of a true regex without the costly wrapped
        regex: every start at a left boundary where the pattern matches, and for it the
        longest end at a right boundary (the pattern's own match, else its longest
        match, else shorter boundary ends by ``fullmatch``). None once
        :data:`EXACT_REGEX_BUDGET` RE2 calls are spent."""
        folded = self.folded[index]
        left_free = _is_nospace(folded[:1])
        right_free = _is_nospace(folded[-1:])
        plain = self._regex("plain", index)
        spans: list[tuple[int, int]] = []
        budget = EXACT_REGEX_BUDGET
        pos = 0
        size = len(encoded)
        while pos <= size:
            budget -= 1
            found = plain.search(encoded, pos)
            if found is None:
                return spans
            start, end = found.span()
            if not (left_free or _byte_boundary_before(encoded, start)):
                end = None
            elif not (right_free or _byte_boundary_after(encoded, end)):
                budget -= 1
                longest = self._regex("longest", index).match(encoded, start)
                end = longest.end() if longest is not None else start
                if not _byte_boundary_after(encoded, end):
                    longest_end, end = end, None
                    for candidate in range(longest_end - 1, start, -1):
                        if 0x80 <= encoded[candidate] < 0xC0:
                            continue  # inside a character
                        if not _byte_boundary_after(encoded, candidate):
                            continue
                        budget -= 1
                        if budget < 0:
                            return None
                        if plain.fullmatch(encoded, start, candidate) is not None:
                            end = candidate
                            break
            if budget < 0:
                return None
            if end is not None:
                spans.append((start, end))
                if first_only:
                    return spans
                pos = end
            else:
                pos = start + 1
                while pos < size and 0x80 <= encoded[pos] < 0xC0:
                    pos += 1  # not inside a character
        return spans

    def _wrapped_spans(self, index: int, encoded: bytes, first_only: bool) -> list[tuple[int, int]]:
        regex = self._regex("wrapped", index)
        spans: list[tuple[int, int]] = []
        pos = 0
        while pos <= len(encoded):
            found = regex.search(encoded, pos)
            if found is None:
                break
            start, end = found.span(1)
            spans.append((start, end))
            if first_only:
                break
            # the boundary character after the match may be the next match's left one
            pos = end if end > start else end + 1
        return spans

    def _candidates(self, encoded: bytes) -> list[int]:
        candidates: list[int] = []
        for compiled, offset in self.sets:
            candidates.extend(offset + i for i in compiled.Match(encoded) or ())
        candidates.sort()
        return candidates

    def hits(self, folded: str) -> list[int]:
        """Indices of every record the folded text matches, in creation order."""
        if not self.sets or not folded:
            return []
        encoded = folded.encode()
        return [
            index
            for index in self._candidates(encoded)
            if not self.exact[index] or self._spans(index, folded, encoded, first_only=True)
        ]

    def blacklist_hit(self, text: str) -> str | None:
        """The pattern (ruleId) of the first record the text matches, or None."""
        if not self.sets or not text:
            return None
        folded = fold_text(text)
        encoded = folded.encode()
        for index in self._candidates(encoded):
            if not self.exact[index] or self._spans(index, folded, encoded, first_only=True):
                return self.patterns[index]
        return None

    def mask(self, text: str) -> str:
        """The text with every span a record matches replaced by :data:`MASK`. Spans
        are found on the folded text and mapped back to whole characters (with their
        combining marks) of the original."""
        folded, starts, ends = _fold_with_map(text)
        spans: list[tuple[int, int]] = []
        encoded = folded.encode()
        for index in self.hits(folded):
            spans.extend(self._spans(index, folded, encoded))
        if not spans:
            return text
        merged: list[list[int]] = []
        for start, end in sorted((starts[a], ends[b - 1]) for a, b in spans):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        parts: list[str] = []
        previous = 0
        for start, end in merged:
            parts.append(text[previous:start])
            parts.append(MASK)
            previous = end
        parts.append(text[previous:])
        return "".join(parts)

    def url_allowed(self, host: str, path: str) -> bool:
        """Whether a record allows the URL (host, path). A hostless link's "host" is
        its scheme (``javascript:``) and a host over :data:`MAX_HOST_LENGTH` characters
        is no domain name: no record allows them."""
        if len(host) > MAX_HOST_LENGTH or host.endswith(":"):
            return False
        # Every suffix of the host that starts a label: the host, then what follows
        # each "." (the suffixes of ``host.split(".")``, without building them).
        whitelist = self.whitelist
        start = 0
        while True:
            prefixes = whitelist.get(host[start:] if start else host)
            if prefixes is not None:
                for prefix in prefixes:
                    if not prefix or path == prefix or path.startswith(prefix + "/"):
                        return True
            start = host.find(".", start) + 1
            if not start:
                return False

    def first_disallowed_url(self, text: str) -> str | None:
        if not self.whitelist or not text:
            return None
        # The URLs of ``extract_urls(normalize_text(text))``, found faster. A match of
        # _URL never spans whitespace and depends only on its own word (the characters
        # around a word are spaces or nothing), so the URLs of the text are those of its
        # words, and only words with a _URL_HINT can have one.
        if not text.isascii():
            # NFKC turns fullwidth dots (U+FF0E) and letters into plain ones.
            # It works word by word (whitespace stays whitespace and never combines),
            # and only words with a _DOTLIKE character can hold a URL after it: only
            # those are normalized (joined, so one call), usually none or one.
            words = list(_words_with(_DOTLIKE, text))
            if not words:
                return None
            text = normalize_text(" ".join(words))
        # The words of ``_words_with(_URL_HINT, text)``, the first few one at a time.
        words = end = 0
        while (found := _URL_HINT.search(text, end)) is not None:
            at = found.start()
            start = _word_start(text, end, at)
            stop = _NONSPACE_RUN.match(text, at).end()  # type: ignore[union-attr]
            words += 1
            if words > _FEW_URL_WORDS or stop - start > 256:  # many links, or a long word
                return self._first_disallowed_of_many(text, start, stop)
            end = stop
            for host, path in _word_urls(text[start:end]):
                if not self.url_allowed(host, path):
                    return host + path
        return None

    def _first_disallowed_of_many(self, text: str, start: int, end: int) -> str | None:
        """:meth:`first_disallowed_url` from the word ``text[start:end]`` on, for a text
        of many links: plain hosts (_PLAIN_HOSTS, each with a hint: its top-level dot)
        from a word's start on are read at once, across words, and the rest of the word
        where they stop is read as a word; a host or word already allowed in this text
        is not looked at again (a text of a thousand links repeats them)."""
        allowed_hosts: set[str] = set()
        allowed_words: set[str] = set()
        url_allowed = self.url_allowed
        plain_hosts = _PLAIN_HOSTS.match
        while True:
            first = start
            while (plain := plain_hosts(text, start).end()) > start:  # type: ignore[union-attr]
                for host in _plain_hosts(text[start:plain]):
                    if host not in allowed_hosts:
                        if not url_allowed(host, ""):
                            return host
                        allowed_hosts.add(host)
                start = plain
            if start > first and (start == len(text) or text[start - 1].isspace()):
                end = start  # at the start of a word: the next word with a hint
            else:
                if start > first:  # the rest of the word
                    end = _NONSPACE_RUN.match(text, start).end()  # type: ignore[union-attr]
                word = text[start:end]
                if word not in allowed_words:
                    # a long word (a hostile text) is read only up to its first refused URL
                    urls = _word_urls(word) if len(word) <= 256 else _iter_urls(word)
                    for host, path in urls:
                        if not url_allowed(host, path):
                            return host + path
                    allowed_words.add(word)
            found = _URL_HINT.search(text, end)
            if found is None:
                return None
            at = found.start()
            start = _word_start(text, end, at)
            end = _NONSPACE_RUN.match(text, at).end()  # type: ignore[union-attr]


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


def _compile_sets(patterns: list[str], offset: int = 0) -> list[tuple[re2.Set, int]]:
    """One RE2 Set for the patterns or, if they are too large together, halves."""
    compiled = re2.Set.SearchSet(_options())
    for pattern in patterns:
        compiled.Add(f"(?:{pattern})")
    try:
        compiled.Compile()
    except re2.error:
        if len(patterns) == 1:
            raise
        half = len(patterns) // 2
        return _compile_sets(patterns[:half], offset) + _compile_sets(
            patterns[half:], offset + half
        )
    return [(compiled, offset)]


def compile_matcher(
    blacklist: Iterable[tuple[str, bool]] = (), whitelist: Iterable[str] = ()
) -> Matcher:
    """A matcher for records given as (pattern, isMatchExactWord) and whitelist
    patterns, in creation order. No database: the benchmark builds matchers this way."""
    matcher = Matcher()
    for pattern, exact in blacklist:
        folded = fold_pattern(pattern)
        matcher.patterns.append(pattern)
        matcher.exact.append(bool(exact))
        matcher.folded.append(folded)
        matcher.literals.append(fold_text(pattern) if is_plain_word(pattern) else None)
    if matcher.patterns:
        matcher.sets = _compile_sets(matcher.folded)
    for pattern in whitelist:
        try:
            host, path = parse_whitelist_pattern(pattern)
        except DomainError:
            continue  # a record written around the services; it allows nothing
        matcher.whitelist.setdefault(host, []).append(path)
    return matcher


def build_matcher(organization_id: int) -> Matcher:
    """The organization's matcher, from its records (two queries)."""
    return compile_matcher(
        BlacklistRecord.objects.filter(organization_id=organization_id)
        .order_by("pk")
        .values_list("pattern", "is_match_exact_word"),
        WhitelistRecord.objects.filter(organization_id=organization_id)
        .order_by("pk")
        .values_list("pattern", flat=True),
    )


# organization pk -> (filter_version, matcher, when the version was read)
_cache: OrderedDict[int, tuple[int, Matcher, float]] = OrderedDict()
_lock = threading.Lock()
#: The clock of :data:`VERSION_TTL` (tests replace it).
_clock = time.monotonic


def _read_version(organization_id: int) -> int:
    return (
        Organization.objects.filter(pk=organization_id)
        .values_list("filter_version", flat=True)
        .first()
    ) or 0


def matcher_for(organization: Organization) -> Matcher:
    """The organization's matcher, rebuilt only when its records changed.

    No query while the version read less than :data:`VERSION_TTL` ago is trusted; one
    query (the ``filter_version``) after that; a rebuild adds two.
    """
    now = _clock()
    with _lock:
        cached = _cache.get(organization.pk)
        if cached is not None and now - cached[2] < VERSION_TTL:
            _cache.move_to_end(organization.pk)
            return cached[1]
    version = _read_version(organization.pk)
    if cached is not None and cached[0] == version:
        matcher = cached[1]
    else:
        # Built outside the lock (it may take a second at 100,000 records); the
        # version was read first, so a change committed meanwhile only causes one more
        # rebuild.
        matcher = build_matcher(organization.pk)
    with _lock:
        _cache[organization.pk] = (version, matcher, now)
        _cache.move_to_end(organization.pk)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return matcher


def forget_version(organization_id: int) -> None:
    """Make this process re-read the organization's ``filter_version`` on its next
    check (now, and again when the current transaction commits). The record services
    call it when they bump the version, so the process that made a change sees it at
    once; other processes see it within :data:`VERSION_TTL`."""

    def forget() -> None:
        with _lock:
            cached = _cache.get(organization_id)
            if cached is not None:
                _cache[organization_id] = (cached[0], cached[1], float("-inf"))

    forget()
    transaction.on_commit(forget)


@receiver(post_save, sender=Organization, dispatch_uid="filtering-new-organization")
def _forget_new_organization(sender: type, instance: Organization, created: bool, **_: Any) -> None:
    """A new organization never inherits a cached matcher (test databases reuse pks)."""
    if created:
        with _lock:
            _cache.pop(instance.pk, None)


# --- Applying the policy ------------------------------------------------------------


@dataclass(frozen=True)
class FilterOutcome:
    """What the message services store and do after filtering (no exception = the
    message is accepted).

    ``texts``: field -> text to store (masked under the ``mask`` policy, else as given).
    ``hits``: field -> the first record the field's text matched (``flag`` and ``mask``).
    ``flag_reason``: the reason of the system report to open (``flag`` policy), or None.
    """

    policy: str
    texts: dict[str, str]
    hits: dict[str, str] = field(default_factory=dict)

    @property
    def flag_reason(self) -> str | None:
        if self.policy != Organization.FilterPolicy.FLAG or not self.hits:
            return None
        return "Blacklisted content: " + ", ".join(dict.fromkeys(self.hits.values()))


def _blacklisted(field: str, record: str) -> DomainError:
    return DomainError(
        "blacklisted_content",
        f"The message contains blacklisted content (record {record!r}).",
        field=field,
    )


def filter_message_texts(
    *, organization: Organization, texts: dict[str, str], policy: str | None = None
) -> FilterOutcome:
    """Apply the organization's content filter to the texts of one message
    (field -> text: ``data.text``, ``caption``, ``text``).

    - A URL the whitelist does not allow: DomainError ``url_not_whitelisted`` under
      every policy.
    - A blacklisted text: ``block`` (default) raises DomainError ``blacklisted_content``
      naming the first matching record; ``flag`` accepts it unchanged (the caller opens
      a system report with :attr:`FilterOutcome.flag_reason`); ``mask`` returns it with
      the matched spans replaced by ``***``.

    ``policy`` overrides the organization's (``check_message_text`` passes ``block``).
    """
    policy = policy or organization.filter_policy or Organization.FilterPolicy.BLOCK
    present = {k: v for k, v in texts.items() if isinstance(v, str) and v}
    if not present:
        return FilterOutcome(policy=policy, texts=dict(texts))
    matcher = matcher_for(organization)
    result = dict(texts)
    hits: dict[str, str] = {}
    for name, text in present.items():
        hit = matcher.blacklist_hit(text)
        if hit is not None and policy == Organization.FilterPolicy.BLOCK:
            raise _blacklisted(name, hit)
        url = matcher.first_disallowed_url(text)
        if url is not None:
            raise DomainError(
                "url_not_whitelisted", f"The URL {url!r} is not whitelisted.", field=name
            )
        if hit is None:
            continue
        hits[name] = hit
        if policy == Organization.FilterPolicy.MASK:
            masked = text
            for _ in range(MAX_MASK_PASSES):
                masked = matcher.mask(masked)
                if matcher.blacklist_hit(masked) is None:
                    break
            else:
                raise _blacklisted(name, hit)  # the mask itself matches: cannot mask
            result[name] = masked
    return FilterOutcome(policy=policy, texts=result, hits=hits)


def check_message_text(
    *, organization: Organization, texts: list[str], field: str = "data"
) -> None:
    """Raise if any of the texts is blacklisted (whatever the organization's policy) or
    has a URL the whitelist does not allow. For callers that only need ``block``."""
    texts = [t for t in texts if isinstance(t, str) and t]
    if not texts:
        return
    matcher = matcher_for(organization)
    for text in texts:
        hit = matcher.blacklist_hit(text)
        if hit is not None:
            raise _blacklisted(field, hit)
        url = matcher.first_disallowed_url(text)
        if url is not None:
            raise DomainError(
                "url_not_whitelisted", f"The URL {url!r} is not whitelisted.", field=field
            )
