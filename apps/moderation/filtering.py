"""The content filter: blacklist and whitelist records compiled into one matcher.

Every path that creates or edits message text calls :func:`check_message_text`.
Patterns run on RE2 (linear time in the text, no backtracking), so a hostile pattern
such as ``(a+)+$`` is harmless; patterns RE2 cannot compile (backreferences,
lookaround), patterns that can match empty text and patterns whose compiled program
is too large are refused at creation (``invalid_pattern``).

Matching (docs/api/content-filter.md): case-insensitive, on NFKC-normalized text (so
fullwidth letters equal plain ones). ``isMatchExactWord`` means whole words only: the
characters around the match must not be Unicode letters, marks, digits or ``_``;
a character of a script written without spaces (Han, Hiragana, Katakana, Thai, Lao,
Khmer, Myanmar) counts as a boundary, and a pattern that starts or ends with such a
character needs no boundary on that side.

How it stays flat as records grow to 100,000: every pattern goes, unwrapped, into one
RE2 ``Set`` (one DFA pass over the text, whatever the record count). A Set hit on an
exact-word record is confirmed by that record's own boundary-wrapped regex (compiled
lazily, only for candidates), because wrapping all 100,000 patterns in Unicode boundary
classes would multiply the program size by ~400.

The matcher is cached per process and per organization (a bounded LRU), keyed by the
organization's ``filter_version``, which the record services bump in the same
transaction as the change, so every process rebuilds on its next check.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import re2

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

# Unicode word characters for whole-word matching (letters, marks, digits, underscore).
_WORD = r"\pL\pM\pN_"
# Scripts written without spaces between words: any of their characters is a boundary.
_NOSPACE = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\x{30FC}"
_MAX_MEM = 256 << 20  # RE2's default 8 MiB fails at ~10,000 records
# Texts on which a pattern must not find an empty match (``^``, ``\b``, ``a*``, ...).
_EMPTY_PROBES = ("", " ", "a", "a b", "Hello, world.\n", "1")


def _options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = _MAX_MEM
    options.never_capture = True
    return options


_NOSPACE_CHAR = re2.compile(f"^[{_NOSPACE}]$", _options())


def normalize_text(text: str) -> str:
    """NFKC, so fullwidth and decomposed spellings compare equal to plain ones."""
    return unicodedata.normalize("NFKC", text)


def _is_nospace(char: str) -> bool:
    return bool(char) and _NOSPACE_CHAR.search(char) is not None


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
        # meaning (``a)|(b`` would escape the wrapper).
        compiled = re2.compile(pattern, _options())
        re2.compile(_wrap(pattern, True), _options())
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
    return pattern


# --- Whitelist ----------------------------------------------------------------------

_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")


def _idna(host: str) -> str:
    """The host in ASCII (punycode for internationalized names), lowercase."""
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _clean_path(path: str) -> str:
    """Decoded, lowercase, dot segments resolved, no trailing slash: how a browser
    would resolve it, so ``/docs/../admin`` is ``/admin``."""
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


# URLs in message text: with a scheme, starting with www., or a bare domain (Unicode
# labels allowed) ending in an alphabetic top-level label.
_URL = re.compile(
    r"(?i)\b(?:[a-z][a-z0-9+.-]{0,15}://[^\s<>\"']+|www\.[^\s<>\"']+|"
    r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,24}(?::\d{1,5})?(?:[/?#][^\s<>\"']*)?)"
)
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


def extract_urls(text: str) -> list[tuple[str, str]]:
    """(host, path) of every URL in the text. Email addresses are not URLs."""
    text = text.replace("\u3002", ".")
    found = []
    for match in _URL.finditer(text):
        raw = match.group(0).rstrip(".,;:!?)]}")
        has_scheme = "://" in raw
        if not has_scheme and (
            text[max(match.start() - 1, 0) : match.start()] == "@"
            or text[match.end() : match.end() + 1] == "@"
            or "@" in re.split(r"[/?#]", raw, maxsplit=1)[0]
        ):
            continue  # an email address, not a URL
        url = raw if has_scheme else "http://" + raw
        try:
            parts = urlsplit(url.replace("\\", "/"))  # browsers read \ as /
            host = (parts.hostname or "").rstrip(".")
        except ValueError:
            continue
        host = _idna(host).removeprefix("www.")
        if not host:
            continue
        if not has_scheme and not raw.lower().startswith("www."):
            tld = host.rsplit(".", 1)[-1]
            if tld in _NOT_TLDS and not parts.path:
                continue  # a file name such as report.pdf
        found.append((host, _clean_path(parts.path)))
    return found


# --- The matcher --------------------------------------------------------------------


@dataclass
class Matcher:
    patterns: list[str] = field(default_factory=list)
    exact: list[bool] = field(default_factory=list)
    #: (RE2 Set, index of its first pattern in ``patterns``); one Set unless the records
    #: were too large to compile together.
    sets: list[tuple[re2.Set, int]] = field(default_factory=list)
    whitelist: list[tuple[str, str]] = field(default_factory=list)
    _wrapped: dict[int, re2._Regexp] = field(default_factory=dict)

    @property
    def blacklist(self) -> bool:
        return bool(self.sets)

    def _confirm(self, index: int, text: str) -> bool:
        if not self.exact[index]:
            return True
        regex = self._wrapped.get(index)
        if regex is None:
            regex = re2.compile(_wrap(self.patterns[index], True), _options())
            self._wrapped[index] = regex
        return regex.search(text) is not None

    def blacklist_hit(self, text: str) -> str | None:
        """The pattern (ruleId) of the first record the text matches, or None."""
        if not self.sets or not text:
            return None
        text = normalize_text(text)
        candidates: list[int] = []
        for compiled, offset in self.sets:
            candidates.extend(offset + i for i in compiled.Match(text) or ())
        for index in sorted(candidates):
            if self._confirm(index, text):
                return self.patterns[index]
        return None

    def url_allowed(self, host: str, path: str) -> bool:
        for allowed_host, prefix in self.whitelist:
            host_ok = host == allowed_host or host.endswith("." + allowed_host)
            if host_ok and (not prefix or path == prefix or path.startswith(prefix + "/")):
                return True
        return False

    def first_disallowed_url(self, text: str) -> str | None:
        if not self.whitelist or not text:
            return None
        for host, path in extract_urls(normalize_text(text)):
            if not self.url_allowed(host, path):
                return host + path
        return None


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


def build_matcher(organization_id: int) -> Matcher:
    records = list(
        BlacklistRecord.objects.filter(organization_id=organization_id)
        .order_by("pk")
        .values_list("pattern", "is_match_exact_word")
    )
    matcher = Matcher(patterns=[p for p, _ in records], exact=[e for _, e in records])
    if records:
        matcher.sets = _compile_sets(matcher.patterns)
    for pattern in WhitelistRecord.objects.filter(organization_id=organization_id).values_list(
        "pattern", flat=True
    ):
        try:
            matcher.whitelist.append(parse_whitelist_pattern(pattern))
        except DomainError:
            continue  # a record written around the services; it allows nothing
    return matcher


_cache: OrderedDict[int, tuple[int, Matcher]] = OrderedDict()
_lock = threading.Lock()


def matcher_for(organization: Organization) -> Matcher:
    """The organization's matcher, rebuilt only when its records changed.

    One query per call (the organization's ``filter_version``); a rebuild adds two.
    """
    version = (
        Organization.objects.filter(pk=organization.pk)
        .values_list("filter_version", flat=True)
        .first()
    ) or 0
    with _lock:
        cached = _cache.get(organization.pk)
        if cached is not None and cached[0] == version:
            _cache.move_to_end(organization.pk)
            return cached[1]
    # Built outside the lock (it may take a second at 100,000 records); the version
    # was read first, so a change committed meanwhile only causes one more rebuild.
    matcher = build_matcher(organization.pk)
    with _lock:
        _cache[organization.pk] = (version, matcher)
        _cache.move_to_end(organization.pk)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return matcher


def check_message_text(
    *, organization: Organization, texts: list[str], field: str = "data"
) -> None:
    """Raise if any of the texts (message text, caption) is blacklisted or has a URL
    that the whitelist does not allow. The one place this rule lives."""
    texts = [t for t in texts if isinstance(t, str) and t]
    if not texts:
        return
    matcher = matcher_for(organization)
    for text in texts:
        hit = matcher.blacklist_hit(text)
        if hit is not None:
            raise DomainError(
                "blacklisted_content",
                f"The message contains blacklisted content (record {hit!r}).",
                field=field,
            )
        url = matcher.first_disallowed_url(text)
        if url is not None:
            raise DomainError(
                "url_not_whitelisted", f"The URL {url!r} is not whitelisted.", field=field
            )
