"""The "try a message" box of the blacklist page: what the content filter would do
with a text under the organization's policy, which records match and why.

It only CALLS the filter's public functions (apps.moderation.filter): the verdict
is :func:`filter_message_texts` itself (so it cannot disagree with what posting the
message would do), the matching records come from the organization's matcher, and the
matched spans from a one-record matcher's :meth:`Matcher.mask`. Nothing is written:
no report is opened under the ``flag`` policy, no message is stored.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from apps.core.errors import DomainError, quoted
from apps.moderation.filter.cache import matcher_for
from apps.moderation.filter.matcher import MASK, compile_matcher
from apps.moderation.filter.patterns import is_plain_word
from apps.moderation.filter.policy import filter_message_texts
from apps.moderation.filter.text import fold_text
from apps.moderation.models import BlacklistRecord
from apps.organizations.models import Organization

#: Longest text the box accepts, in characters.
MAX_TRY_LENGTH = 4_000
#: Matching records explained one by one (the rest are counted).
MAX_EXPLAINED = 20


@dataclass
class RecordMatch:
    """One blacklist record that matches the text."""

    pattern: str
    record_id: int | None
    exact_word: bool
    spans: list[tuple[int, int]]
    #: (start, end, matched text) of each span, in the original text.
    occurrences: list[tuple[int, int, str]]

    @property
    def is_regex(self) -> bool:
        return not is_plain_word(self.pattern)


@dataclass
class Explanation:
    text: str
    policy: str
    #: allowed, blocked, flagged or masked
    verdict: str
    #: One sentence: why this verdict.
    reason: str
    error_code: str | None = None
    #: The record the filter names (the first match in creation order).
    first_record: str | None = None
    records: list[RecordMatch] = field(default_factory=list)
    more_records: int = 0
    disallowed_url: str | None = None
    whitelist_active: bool = False
    stored_text: str | None = None
    #: The text cut into (piece, matched?) for highlighting.
    segments: list[tuple[str, bool]] = field(default_factory=list)


def _spans_from_mask(text: str, masked: str) -> list[tuple[int, int]]:
    """Where ``masked`` (the text with matched spans replaced by MASK) differs."""
    if masked == text:
        return []
    spans: list[tuple[int, int]] = []
    matcher = difflib.SequenceMatcher(None, text, masked, autojunk=False)
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag in ("replace", "delete") and i2 > i1:
            spans.append((i1, i2))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _segments(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces: list[tuple[str, bool]] = []
    previous = 0
    for start, end in merged:
        if start > previous:
            pieces.append((text[previous:start], False))
        pieces.append((text[start:end], True))
        previous = end
    if previous < len(text):
        pieces.append((text[previous:], False))
    return pieces


def _matching_patterns(organization: Organization, text: str) -> list[str]:
    """The patterns of every record the text matches, in creation order."""
    matcher = matcher_for(organization)
    try:
        return [matcher.patterns[i] for i in matcher.hits(fold_text(text))]
    except AttributeError:  # the matcher's internals changed: the first record only
        first = matcher.blacklist_hit(text)
        return [first] if first is not None else []


def explain_message(*, organization: Organization, text: str) -> Explanation:
    """What the organization's content filter does with ``text`` (a message's text),
    and why. Reads only (two or three queries; none of them write)."""
    policy = organization.filter_policy or Organization.FilterPolicy.BLOCK
    matcher = matcher_for(organization)
    first = matcher.blacklist_hit(text)
    url = matcher.first_disallowed_url(text)
    whitelist_active = url is not None or bool(getattr(matcher, "whitelist", True))

    patterns = _matching_patterns(organization, text) if first is not None else []
    if first is not None and first not in patterns:
        patterns.insert(0, first)
    shown, more = patterns[:MAX_EXPLAINED], max(0, len(patterns) - MAX_EXPLAINED)
    records = {
        r.pattern: r
        for r in BlacklistRecord.objects.filter(organization=organization, pattern__in=shown)
    }
    matches: list[RecordMatch] = []
    for pattern in shown:
        record = records.get(pattern)
        exact = bool(record and record.is_match_exact_word)
        spans = _spans_from_mask(text, compile_matcher([(pattern, exact)]).mask(text))
        matches.append(
            RecordMatch(
                pattern=pattern,
                record_id=record.pk if record else None,
                exact_word=exact,
                spans=spans,
                occurrences=[(a, b, text[a:b]) for a, b in spans],
            )
        )
    explanation = Explanation(
        text=text,
        policy=policy,
        verdict="allowed",
        reason="",
        first_record=first,
        records=matches,
        more_records=more,
        disallowed_url=url,
        whitelist_active=whitelist_active,
        segments=_segments(text, [s for m in matches for s in m.spans]),
    )
    try:
        outcome = filter_message_texts(organization=organization, texts={"text": text})
    except DomainError as exc:
        explanation.verdict = "blocked"
        explanation.error_code = exc.code
        explanation.reason = exc.message
        return explanation
    stored = outcome.texts.get("text", text)
    if outcome.hits and policy == Organization.FilterPolicy.MASK:
        explanation.verdict = "masked"
        explanation.stored_text = stored
        explanation.reason = (
            "The message would be accepted with the matched text replaced by "
            f"{MASK} (record {quoted(first)})."
        )
    elif outcome.hits:
        explanation.verdict = "flagged"
        explanation.stored_text = stored
        explanation.reason = (
            "The message would be accepted and a report opened by the system: "
            f"{outcome.flag_reason}."
        )
    else:
        explanation.reason = "No blacklist record matches and every URL is allowed."
    return explanation
