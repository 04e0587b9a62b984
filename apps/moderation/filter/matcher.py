"""One organization's compiled records (:class:`Matcher`, built by
:func:`compile_matcher`): every blacklist pattern in one RE2 ``Set``, exact-word hits
confirmed one record at a time, and the whitelist as host -> path prefixes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import re2

from apps.core.errors import DomainError
from apps.moderation.filter.patterns import (
    _wrap,
    fold_pattern,
    is_plain_word,
    parse_whitelist_pattern,
)
from apps.moderation.filter.text import (
    _boundary_after,
    _boundary_before,
    _byte_boundary_after,
    _byte_boundary_before,
    _char_offset,
    _fold_with_map,
    _is_nospace,
    _options,
    fold_text,
)
from apps.moderation.filter.urlparts import MAX_HOST_LENGTH
from apps.moderation.filter.whitelist import first_disallowed_url

#: Compiled per-record regexes one matcher keeps (true regexes only; plain words need
#: none), and boundary-wrapped ones (each ~0.5 MB once used).
REGEX_CACHE_SIZE = 4096
WRAPPED_CACHE_SIZE = 32
#: RE2 calls the whole-word check of one true regex may spend on one text before it
#: hands over to the (linear-time, costly to compile) boundary-wrapped regex.
EXACT_REGEX_BUDGET = 64
#: What a matched span becomes under the ``mask`` policy.
MASK = "***"


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
        """The first URL of the text that no record allows (``host + path``), or None."""
        if not self.whitelist or not text:
            return None
        return first_disallowed_url(text, self.url_allowed)


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
