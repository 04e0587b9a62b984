"""Records as the services store them: a blacklist pattern validated (RE2 syntax, no
empty match, bounded program size) and its literals case-folded like the text
(:func:`fold_pattern`); a whitelist pattern parsed into (host, path prefix)."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

import re2

from apps.core.errors import DomainError, quoted
from apps.moderation.filter.text import (
    _NOSPACE,
    _WORD,
    _fold_char,
    _is_nospace,
    _options,
    fold_text,
    normalize_text,
)
from apps.moderation.filter.urlparts import _clean_path, _idna

#: Longest pattern (after normalization), in characters: the column's size.
MAX_PATTERN_LENGTH = 255
#: Largest RE2 program one pattern may compile to (``bad`` is 7, ``.{100}`` ~800,
#: ``\pL{100}`` ~120,000 and is refused).
MAX_PROGRAM_SIZE = 5_000
# Texts on which a pattern must not find an empty match (``^``, ``\b``, ``a*``, ...).
_EMPTY_PROBES = ("", " ", "a", "a b", "Hello, world.\n", "1")
# Characters that make a pattern a true regular expression (not a plain word).
_META = frozenset("\\.^$|?*+()[]{}")


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
    return DomainError("invalid_pattern", f"{quoted(pattern)} {why}", field=field_name)


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
