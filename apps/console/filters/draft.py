"""The filter tester's draft pattern: what a blacklist pattern that is not saved yet
would have matched among the organization's last N messages ("this would have matched 12
of the last 10,000"), with a few of them as examples.

It only CALLS the content filter's own functions (apps.moderation.filter), so it cannot
disagree with the record once saved: the pattern is checked by
:func:`validate_blacklist_pattern` (RE2 syntax, no empty match, a bounded program: a
pattern the services would refuse is refused here with the same message), and matched by
:func:`compile_matcher` with this one record (``blacklist_hit``; ``mask`` for the spans
of the examples). RE2 runs in linear time, so a hostile pattern such as ``(a+)+$`` costs
what any pattern costs; the scan is also bounded by N (``CHATADMIN_FILTER_DRAFT_MESSAGES``)
and stops at a time budget, saying how many messages it read. Nothing is written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models.fields.json import KeyTextTransform

from apps.console.filters.explain import _segments, _spans_from_mask
from apps.messages.selectors.messages import message_visible
from apps.moderation.filter.matcher import compile_matcher
from apps.moderation.filter.patterns import validate_blacklist_pattern
from apps.organizations.models import Organization

#: Matching messages shown as examples.
MAX_EXAMPLES = 5
#: Messages read per query (keyset, newest first).
BATCH_SIZE = 1_000
#: Seconds a test may take before it stops and says how many messages it read.
TIME_BUDGET_SECONDS = 5.0
#: Characters of context shown on each side of an example's first match.
CONTEXT_CHARS = 60


@dataclass
class DraftExample:
    """One matching message: where, when, and an excerpt cut into (piece, matched?)."""

    message_pk: int
    channel_id: str
    created_at: datetime
    segments: list[tuple[str, bool]]
    cut_before: bool
    cut_after: bool


@dataclass
class DraftResult:
    pattern: str
    exact_word: bool
    #: N: the messages the test was asked to read (the setting).
    wanted: int
    #: Messages actually read (fewer when the organization has fewer, or on time out).
    scanned: int = 0
    matched: int = 0
    examples: list[DraftExample] = field(default_factory=list)
    timed_out: bool = False


def _example(
    pk: int, channel_id: str, created_at: datetime, text: str, masked: str
) -> DraftExample:
    spans = _spans_from_mask(text, masked)
    first_start, first_end = spans[0] if spans else (0, 0)
    start = max(0, first_start - CONTEXT_CHARS)
    end = min(len(text), first_end + CONTEXT_CHARS)
    shifted = [
        (max(a, start) - start, min(b, end) - start) for a, b in spans if a < end and b > start
    ]
    return DraftExample(
        message_pk=pk,
        channel_id=channel_id,
        created_at=created_at,
        segments=_segments(text[start:end], shifted),
        cut_before=start > 0,
        cut_after=end < len(text),
    )


def draft_pattern_test(
    *,
    organization: Organization,
    pattern: str,
    exact_word: bool,
    limit: int | None = None,
    budget: float = TIME_BUDGET_SECONDS,
) -> DraftResult:
    """Match ``pattern`` (as a blacklist record with ``isMatchExactWord`` = ``exact_word``)
    against the text (``data.text``, else an image's ``data.caption``) of the
    organization's last ``limit`` messages that are not deleted, newest first. Raises the
    engine's DomainError ``invalid_pattern`` for a pattern it would refuse. Reads only:
    one query per :data:`BATCH_SIZE` messages."""
    pattern = validate_blacklist_pattern(pattern, field_name="pattern")
    matcher = compile_matcher([(pattern, exact_word)])
    wanted = limit if limit is not None else settings.CHATADMIN["FILTER_DRAFT_MESSAGES"]
    result = DraftResult(pattern=pattern, exact_word=exact_word, wanted=wanted)
    deadline = time.monotonic() + budget
    rows = (
        message_visible(organization=organization)
        .filter(deleted_at__isnull=True)
        .annotate(
            _text=KeyTextTransform("text", "data"), _caption=KeyTextTransform("caption", "data")
        )
        .order_by("-pk")
        .values_list("pk", "_text", "_caption", "channel__channel_id", "created_at")
    )
    before: int | None = None
    while result.scanned < wanted:
        if time.monotonic() >= deadline:
            result.timed_out = True
            break
        batch = rows.filter(pk__lt=before) if before is not None else rows
        page = list(batch[: min(BATCH_SIZE, wanted - result.scanned)])
        if not page:
            break
        for pk, text, caption, channel_id, created_at in page:
            result.scanned += 1
            body = text if isinstance(text, str) and text else caption
            if not isinstance(body, str) or matcher.blacklist_hit(body) is None:
                continue
            result.matched += 1
            if len(result.examples) < MAX_EXAMPLES:
                example = _example(pk, channel_id, created_at, body, matcher.mask(body))
                result.examples.append(example)
            if time.monotonic() >= deadline:
                break
        before = page[-1][0]
    return result
