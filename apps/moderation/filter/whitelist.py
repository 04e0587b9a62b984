"""The whitelist check of a message text: its first URL no record allows, found without
extracting every URL (the words with a URL hint only, the first few through a
per-process cache of their URLs, plain hosts in runs for a text of many links)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache

from apps.moderation.filter.text import normalize_text
from apps.moderation.filter.urlparts import _NOT_TLDS
from apps.moderation.filter.urls import _iter_urls

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
#: Words with a URL hint that :func:`first_disallowed_url` reads one at a time,
#: through the per-process word cache (quickest for the usual one or two links), before
#: it reads the rest as a text of many links (:func:`_first_disallowed_of_many`); a
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


def first_disallowed_url(text: str, url_allowed: Callable[[str, str], bool]) -> str | None:
    """The first URL of the text (``host + path``) that ``url_allowed`` refuses, or None:
    ``Matcher.first_disallowed_url`` (apps.moderation.filter.matcher) for a non-empty
    text and a non-empty whitelist."""
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
            return _first_disallowed_of_many(text, start, stop, url_allowed)
        end = stop
        for host, path in _word_urls(text[start:end]):
            if not url_allowed(host, path):
                return host + path
    return None


def _first_disallowed_of_many(
    text: str, start: int, end: int, url_allowed: Callable[[str, str], bool]
) -> str | None:
    """:func:`first_disallowed_url` from the word ``text[start:end]`` on, for a text
    of many links: plain hosts (_PLAIN_HOSTS, each with a hint: its top-level dot)
    from a word's start on are read at once, across words, and the rest of the word
    where they stop is read as a word; a host or word already allowed in this text
    is not looked at again (a text of a thousand links repeats them)."""
    allowed_hosts: set[str] = set()
    allowed_words: set[str] = set()
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
