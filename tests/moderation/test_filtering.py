"""The content filter's matching semantics and its per-process cache."""

from __future__ import annotations

import hashlib
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.errors import DomainError
from apps.moderation.filter import cache as filter_cache
from apps.moderation.filter import matcher as filter_matcher
from apps.moderation.filter import text as filter_text
from apps.moderation.filter.cache import matcher_for
from apps.moderation.filter.matcher import Matcher, compile_matcher
from apps.moderation.filter.patterns import canonical_whitelist_pattern, validate_blacklist_pattern
from apps.moderation.filter.policy import check_message_text
from apps.moderation.filter.urls import extract_urls
from apps.organizations.models import Organization
from apps.organizations.selectors import mark_row_read

from .helpers import blacklist, whitelist

#: "BAD" and "badge" in fullwidth letters (NFKC turns them into plain ones).
FULLWIDTH_BAD = "\uff22\uff21\uff24"
FULLWIDTH_BADGE = "\uff42\uff41\uff44\uff47\uff45"


def make_matcher(*records: tuple[str, bool]) -> Matcher:
    return compile_matcher([(validate_blacklist_pattern(p), e) for p, e in records])


def blocked(org: Organization, text: str) -> str | None:
    """The error code check_message_text raises for the text, or None."""
    try:
        check_message_text(organization=org, texts=[text])
    except DomainError as exc:
        return exc.code
    return None


# --- blacklist: exact words ------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["a bad day", "BAD!", "(bad)", "bad.", "bad", "Bad, really", "x_y bad"]
)
def test_an_exact_word_blocks_the_whole_word_in_any_case(text: str) -> None:
    assert make_matcher(("bad", True)).blacklist_hit(text) == "bad"


@pytest.mark.parametrize("text", ["badge", "sinbad", "bad_guy", "bad1", "abadb", "good day"])
def test_an_exact_word_does_not_block_longer_words(text: str) -> None:
    assert make_matcher(("bad", True)).blacklist_hit(text) is None


def test_an_exact_word_works_at_unicode_word_boundaries() -> None:
    matcher = make_matcher(("über", True))
    assert matcher.blacklist_hit("Das ist ÜBER!") == "über"
    assert matcher.blacklist_hit("«über»") == "über"
    assert matcher.blacklist_hit("überall") is None
    assert matcher.blacklist_hit("darüber") is None


def test_an_exact_word_next_to_a_letter_with_an_accent_is_not_a_word() -> None:
    assert make_matcher(("bad", True)).blacklist_hit("badé") is None
    assert make_matcher(("bad", True)).blacklist_hit("ébad") is None


def test_cjk_words_match_inside_unspaced_text() -> None:
    matcher = make_matcher(("悪い", True), ("bad", True))
    assert matcher.blacklist_hit("これは悪いです") == "悪い"
    assert matcher.blacklist_hit("これはbadです") == "bad"  # a Latin word between kana
    assert matcher.blacklist_hit("これは良いです") is None


def test_a_substring_record_blocks_any_occurrence() -> None:
    matcher = make_matcher(("bad", False))
    assert matcher.blacklist_hit("badge") == "bad"
    assert matcher.blacklist_hit("SINBAD") == "bad"
    assert matcher.blacklist_hit("good") is None


def test_matching_uses_nfkc_so_fullwidth_letters_are_caught() -> None:
    assert make_matcher(("bad", True)).blacklist_hit(FULLWIDTH_BAD) == "bad"
    assert make_matcher(("bad", False)).blacklist_hit(FULLWIDTH_BADGE) == "bad"
    # a pattern written in fullwidth is stored normalized
    assert validate_blacklist_pattern(FULLWIDTH_BAD) == "BAD"


def test_decomposed_accents_match_composed_ones() -> None:
    decomposed = "u\u0308ber"  # u + combining diaeresis
    assert make_matcher(("über", True)).blacklist_hit(decomposed) == "über"


def test_regex_patterns_work_and_report_the_first_record() -> None:
    matcher = make_matcher(("sp[a@]m+", False), ("b[a4]d", True))
    assert matcher.blacklist_hit("spammm here") == "sp[a@]m+"
    assert matcher.blacklist_hit("so b4d") == "b[a4]d"
    assert matcher.blacklist_hit("sp@m and bad") == "sp[a@]m+"


def test_a_hostile_pattern_is_harmless() -> None:
    matcher = make_matcher(("(a+)+$", False))
    text = "a" * 72 + "!"
    started = time.perf_counter()
    assert matcher.blacklist_hit(text) is None
    assert matcher.blacklist_hit("a" * 100_000 + "!") is None
    # RE2 is linear: no backtracking; generous bound, only to catch a catastrophe
    assert time.perf_counter() - started < 2
    assert matcher.blacklist_hit("aaa") == "(a+)+$"


@pytest.mark.parametrize(
    "pattern",
    [r"(a)\1", "(?=x)", "(?!x)", "(?<=x)y", "c++", "[unclosed", "a)|(b", "*"],
)
def test_patterns_re2_cannot_compile_are_refused(pattern: str) -> None:
    with pytest.raises(DomainError) as caught:
        validate_blacklist_pattern(pattern)
    assert caught.value.code == "invalid_pattern"
    assert caught.value.field == "regexs"


@pytest.mark.parametrize("pattern", ["", "   ", "a*", "^", "$", r"\b", r"\B", "x|", "(?:)", ".*"])
def test_patterns_that_match_empty_text_are_refused(pattern: str) -> None:
    with pytest.raises(DomainError) as caught:
        validate_blacklist_pattern(pattern, field_name="ruleId")
    assert caught.value.code == "invalid_pattern"
    assert caught.value.field == "ruleId"


def test_too_long_and_too_complex_patterns_are_refused() -> None:
    for pattern in ["x" * 256, "\ufdfa" * 20, r"\pL{100}"]:  # U+FDFA grows 18x under NFKC
        with pytest.raises(DomainError) as caught:
            validate_blacklist_pattern(pattern)
        assert caught.value.code == "invalid_pattern"
    assert validate_blacklist_pattern("x" * 255) == "x" * 255


def test_many_records_compile_into_one_set_and_split_when_too_large(monkeypatch) -> None:
    # hex strings share few prefixes, so the compiled program is large
    patterns = [hashlib.sha1(str(i).encode()).hexdigest()[:12] for i in range(3000)]
    assert len(filter_matcher._compile_sets(patterns)) == 1
    monkeypatch.setattr(filter_text, "_MAX_MEM", 1 << 20)
    sets = filter_matcher._compile_sets(patterns)
    assert len(sets) > 1
    matcher = compile_matcher([(p, True) for p in patterns])
    assert len(matcher.sets) > 1
    assert matcher.blacklist_hit(f"say {patterns[-1]} now") == patterns[-1]
    assert matcher.blacklist_hit(f"say {patterns[0]} now") == patterns[0]
    assert matcher.blacklist_hit(f"say x{patterns[0]} now") is None


# --- whitelist --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "canonical"),
    [
        ("example.com", "example.com"),
        ("https://www.Example.com/", "example.com"),
        ("http://example.com:8080/Docs/?q=1#x", "example.com/docs"),
        ("*.example.com", "example.com"),
        ("example.com/a/../b", "example.com/b"),
        ("münchen.de", "xn--mnchen-3ya.de"),
        ("localhost", "localhost"),
    ],
)
def test_whitelist_records_are_stored_as_host_and_path(pattern: str, canonical: str) -> None:
    assert canonical_whitelist_pattern(pattern) == canonical


@pytest.mark.parametrize("pattern", ["example", "http://", "exa mple.com", "", "-.com", "a..b"])
def test_whitelist_records_must_be_domains(pattern: str) -> None:
    with pytest.raises(DomainError) as caught:
        canonical_whitelist_pattern(pattern)
    assert caught.value.code == "invalid_pattern"


def test_urls_with_and_without_scheme_are_found() -> None:
    text = "see https://a.com/x, www.b.org/y and c.net/z or d.io. Also HTTP://E.COM"
    assert extract_urls(text) == [
        ("a.com", "/x"),
        ("b.org", "/y"),
        ("c.net", "/z"),
        ("d.io", ""),
        ("e.com", ""),
    ]


def test_email_addresses_and_file_names_are_not_urls() -> None:
    assert extract_urls("mail john.doe@evil.com or see report.pdf and notes.txt") == []
    # a real TLD that looks like a file extension stays a URL
    assert extract_urls("get evil.zip") == [("evil.zip", "")]


def test_tricky_urls_resolve_to_the_host_a_browser_would_open() -> None:
    assert extract_urls("http://good.com@evil.com/") == [("evil.com", "")]
    assert extract_urls("http://evil.com\\@good.com/") == [("evil.com", "/@good.com")]
    assert extract_urls("evil。com") == [("evil.com", "")]
    assert extract_urls("good.com/docs/../admin") == [("good.com", "/admin")]
    assert extract_urls("münchen.de") == [("xn--mnchen-3ya.de", "")]


@pytest.mark.django_db
def test_with_no_whitelist_records_every_url_passes(org: Organization) -> None:
    assert blocked(org, "see https://anything.example/x and evil.com") is None


@pytest.mark.django_db
def test_with_whitelist_records_only_listed_hosts_pass(org: Organization) -> None:
    whitelist(org, "example.com", "docs.acme.io/guide")
    assert blocked(org, "see https://example.com/x") is None
    assert blocked(org, "see sub.example.com and www.example.com/a") is None
    assert blocked(org, "read docs.acme.io/guide/intro") is None
    assert blocked(org, "read docs.acme.io/guide") is None
    assert blocked(org, "read docs.acme.io/guidebook") == "url_not_whitelisted"
    assert blocked(org, "read docs.acme.io/other") == "url_not_whitelisted"
    assert blocked(org, "see evil.com") == "url_not_whitelisted"
    assert blocked(org, "see https://example.com.evil.com/") == "url_not_whitelisted"
    assert blocked(org, "see notexample.com") == "url_not_whitelisted"
    assert blocked(org, "write to me@evil.com") is None
    assert blocked(org, "no links here") is None


@pytest.mark.django_db
def test_check_message_text_reports_blacklisted_content_on_the_field(org: Organization) -> None:
    blacklist(org, "bad", exact=True)
    with pytest.raises(DomainError) as caught:
        check_message_text(organization=org, texts=["fine", "so bad"], field="caption")
    assert caught.value.code == "blacklisted_content"
    assert caught.value.field == "caption"
    check_message_text(organization=org, texts=["", None, "badge"])  # type: ignore[list-item]


@pytest.mark.django_db
def test_organizations_have_their_own_records(org: Organization, other_org: Organization) -> None:
    blacklist(other_org, "bad")
    whitelist(other_org, "example.com")
    assert blocked(org, "bad evil.com") is None
    assert blocked(other_org, "bad") == "blacklisted_content"


# --- the cache --------------------------------------------------------------------------


def loaded_by_a_request(org: Organization) -> Organization:
    """``org`` as this request's token or session lookup loads it: its row (with
    ``filter_version``) read just now."""
    return mark_row_read(Organization.objects.get(pk=org.pk))


@pytest.mark.django_db
def test_the_matcher_is_built_once_and_rebuilt_only_after_a_change(
    org: Organization, monkeypatch
) -> None:
    builds: list[int] = []
    real_build = filter_cache.build_matcher

    def counting_build(organization_id: int) -> Matcher:
        builds.append(organization_id)
        return real_build(organization_id)

    monkeypatch.setattr(filter_cache, "build_matcher", counting_build)
    blacklist(org, "bad")

    assert blocked(org, "bad") == "blacklisted_content"
    request_org = loaded_by_a_request(org)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert blocked(request_org, "bad") == "blacklisted_content"
            assert blocked(request_org, "good") is None
    # no query at all: the version came with the request's organization; no rebuild
    assert len(queries) == 0
    assert builds == [org.pk]

    blacklist(org, "good")  # a change bumps filter_version (and this process forgets it)
    assert blocked(request_org, "good") == "blacklisted_content"  # loaded before the change
    assert builds == [org.pk, org.pk]
    assert blocked(loaded_by_a_request(org), "good") == "blacklisted_content"
    assert builds == [org.pk, org.pk]


@pytest.mark.django_db
def test_a_rebuild_costs_three_queries_and_a_check_one_or_none(org: Organization) -> None:
    blacklist(org, "bad")
    with CaptureQueriesContext(connection) as queries:
        matcher_for(org)
    # filter_version, the blacklist records, the whitelist records
    assert len(queries) == 3
    with CaptureQueriesContext(connection) as queries:
        matcher_for(org)
    assert len(queries) == 1  # an organization loaded elsewhere: its version is read
    request_org = loaded_by_a_request(org)
    with CaptureQueriesContext(connection) as queries:
        matcher_for(request_org)
    assert len(queries) == 0  # the version read with the request's organization


@pytest.mark.django_db
def test_the_cache_holds_a_bounded_number_of_organizations(org: Organization, monkeypatch) -> None:
    monkeypatch.setattr(filter_cache, "CACHE_SIZE", 2)
    orgs = [Organization.objects.create(slug=f"o{i}", name="O") for i in range(4)]
    for each in orgs:
        matcher_for(each)
    assert list(filter_cache._cache) == [orgs[2].pk, orgs[3].pk]
