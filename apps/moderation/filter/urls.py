"""The URLs of a message text (:func:`extract_urls`): ``_URL`` is the definition,
``_url_matches`` finds its matches in time linear in the text's length."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator

from apps.moderation.filter.urlparts import (
    _NOT_TLDS,
    _SCHEME,
    MAX_HOST_LENGTH,
    _clean_path,
    _idna,
    _split_url,
)

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


def extract_urls(text: str) -> list[tuple[str, str]]:
    """(host, path) of every URL in the text. Email addresses are not URLs. A link
    with a hostless scheme that runs code or carries a document (``javascript:``,
    ``vbscript:``, ``data:``, in any case) is (its scheme and colon, lowercase; the rest
    as written): no whitelist record can allow it (:meth:`Matcher.url_allowed`)."""
    return list(_iter_urls(text))


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
