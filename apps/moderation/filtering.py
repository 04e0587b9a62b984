"""The content filter: blacklist and whitelist records compiled into one matcher.

Every path that creates or edits message text calls :func:`check_message_text`.
Patterns run on RE2 (linear time in the text, no backtracking), so a hostile pattern
such as ``(a+)+$`` is harmless; patterns RE2 cannot compile are refused at creation.

The matcher is cached per process and per organization, keyed by the organization's
``filter_version``, which the record services bump in the same transaction as the
change, so every process rebuilds on its next check.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import re2

from apps.core.errors import DomainError
from apps.organizations.models import Organization

from .models import BlacklistRecord, WhitelistRecord

# Unicode word characters for whole-word matching (letters, marks, digits, underscore).
_WORD = r"\pL\pM\pN_"
_MAX_MEM = 256 << 20  # RE2's default 8 MiB fails at ~10,000 records


def _options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = _MAX_MEM
    options.never_capture = True
    return options


def normalize_text(text: str) -> str:
    """NFKC, so fullwidth and decomposed spellings compare equal to plain ones."""
    return unicodedata.normalize("NFKC", text)


def _wrap(pattern: str, exact_word: bool) -> str:
    if exact_word:
        return rf"(?:^|[^{_WORD}])(?:{pattern})(?:[^{_WORD}]|$)"
    return f"(?:{pattern})"


def validate_blacklist_pattern(pattern: str, *, field_name: str = "regexs") -> str:
    """The pattern, normalized, or DomainError(invalid_pattern)."""
    pattern = normalize_text(pattern.strip())
    if not pattern:
        raise DomainError("invalid_pattern", "The pattern is empty.", field=field_name)
    try:
        re2.compile(_wrap(pattern, True), _options())
    except Exception as exc:  # re2 raises its own error type
        raise DomainError(
            "invalid_pattern",
            f"{pattern!r} is not a valid pattern (RE2 syntax; escape special characters "
            f"with a backslash to match them literally): {exc}",
            field=field_name,
        ) from exc
    if re2.compile(_wrap(pattern, False), _options()).search(""):
        raise DomainError(
            "invalid_pattern",
            f"{pattern!r} matches empty text, so it would block every message.",
            field=field_name,
        )
    return pattern


_HOST = re.compile(r"^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")


def parse_whitelist_pattern(pattern: str, *, field_name: str = "regexs") -> tuple[str, str]:
    """A whitelist record as (host, path prefix). Scheme and ``www.`` are ignored."""
    value = pattern.strip().lower()
    if "://" not in value:
        value = "http://" + value
    try:
        parts = urlsplit(value)
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        host = ""
    host = host.removeprefix("*.").removeprefix("www.")
    if not host or not _HOST.match(host) or ("." not in host and host != "localhost"):
        raise DomainError(
            "invalid_pattern",
            f"{pattern!r} is not a URL or domain (for example example.com or example.com/docs).",
            field=field_name,
        )
    return host, parts.path.rstrip("/")


# URLs in message text: with a scheme, starting with www., or a bare domain with a path
# or a well-formed TLD.
_URL = re.compile(
    r"(?i)\b(?:https?://[^\s<>\"']+|www\.[^\s<>\"']+|"
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}(?::\d{1,5})?(?:/[^\s<>\"']*)?)"
)


def extract_urls(text: str) -> list[tuple[str, str]]:
    """(host, path) of every URL in the text."""
    found = []
    for match in _URL.finditer(text):
        raw = match.group(0).rstrip(".,;:!?)]}")
        if "@" in raw.split("/", 1)[0] and "://" not in raw:
            continue  # an email address, not a URL
        url = raw if "://" in raw else "http://" + raw
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").rstrip(".").removeprefix("www.")
        except ValueError:
            continue
        if host:
            found.append((host, parts.path or ""))
    return found


@dataclass
class Matcher:
    patterns: list[str] = field(default_factory=list)
    blacklist: re2.Set | None = None
    whitelist: list[tuple[str, str]] = field(default_factory=list)

    def blacklist_hit(self, text: str) -> str | None:
        """The pattern (ruleId) of the first record the text matches, or None."""
        if self.blacklist is None or not text:
            return None
        hits = self.blacklist.Match(normalize_text(text))
        return self.patterns[min(hits)] if hits else None

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


def build_matcher(organization_id: int) -> Matcher:
    records = list(
        BlacklistRecord.objects.filter(organization_id=organization_id)
        .order_by("pk")
        .values_list("pattern", "is_match_exact_word")
    )
    matcher = Matcher(patterns=[p for p, _ in records])
    if records:
        compiled = re2.Set.SearchSet(_options())
        for pattern, exact in records:
            compiled.Add(_wrap(pattern, exact))
        compiled.Compile()
        matcher.blacklist = compiled
    for pattern in WhitelistRecord.objects.filter(organization_id=organization_id).values_list(
        "pattern", flat=True
    ):
        matcher.whitelist.append(parse_whitelist_pattern(pattern))
    return matcher


_cache: dict[int, tuple[int, Matcher]] = {}
_lock = threading.Lock()


def matcher_for(organization: Organization) -> Matcher:
    """The organization's matcher, rebuilt only when its records changed."""
    version = (
        Organization.objects.filter(pk=organization.pk)
        .values_list("filter_version", flat=True)
        .first()
    )
    cached = _cache.get(organization.pk)
    if cached is not None and cached[0] == version:
        return cached[1]
    matcher = build_matcher(organization.pk)
    with _lock:
        _cache[organization.pk] = (version or 0, matcher)
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
