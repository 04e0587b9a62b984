"""The content filter: blacklist and whitelist records compiled into one matcher.

Every path that creates or edits message text goes through
:func:`~apps.moderation.filter.policy.filter_message_texts` (policy aware: block, flag
or mask); :func:`~apps.moderation.filter.policy.check_message_text` is the block-only
form. Patterns run on RE2 (linear time in the text, no backtracking), so a hostile
pattern such as ``(a+)+$`` is harmless;
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
the same transaction as the change. The version comes with the organization the
request's token or session lookup loaded (no query of its own), or costs one indexed
read otherwise, and the process that made the change forgets its cached version at
once: a change applies in every process from the next request.

Modules, each importing only those before it: ``text`` (folding, normalization, word
boundaries, RE2 options), ``urlparts`` (a URL's host in ASCII, its path cleaned, the
split of a URL), ``patterns`` (blacklist pattern validation and folding, whitelist
pattern parsing), ``urls`` (the URLs of a text, in linear time), ``whitelist`` (the first
URL of a text no record allows), ``matcher`` (``Matcher``, ``compile_matcher``),
``cache`` (the per-process, per-organization matchers and their
freshness) and ``policy`` (``filter_message_texts``, ``check_message_text``: block,
flag or mask).
"""
