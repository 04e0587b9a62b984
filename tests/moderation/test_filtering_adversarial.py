"""Hostile texts at the content filter ("Hostile input, closed at the door").

- URL extraction is linear in the text's length: the hostile texts that took 1.4 s
  (``"a." * 4999``) find the same URLs as the definition (``filter_urls._URL``), and the
  characters the scanner's regexes read are counted (a few times the text's length,
  never its square). The timings are in ``benchmarks/filter.py --adversarial``.
- A message with nothing visible (zero-width spaces, word joiners, BOMs, fillers,
  whitespace) is empty, on every surface that posts or edits text.
- ``javascript:``, ``vbscript:`` and ``data:`` links are URLs: a whitelist refuses them
  (no record can allow them), and a host longer than a domain name is never allowed.
- A text of many links: the whitelist check reads its plain hosts in runs, and finds the
  same URLs, and the same first refused one, as the definition.
"""

from __future__ import annotations

import random
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from apps.audit.actor import Actor
from apps.core.errors import DomainError
from apps.messages.models import Message
from apps.messages.services.messages import MAX_TEXT_LENGTH, message_text_update
from apps.moderation.filter import text as filter_text
from apps.moderation.filter import urlparts as filter_urlparts
from apps.moderation.filter import urls as filter_urls
from apps.moderation.filter import whitelist as filter_whitelist
from apps.moderation.filter.matcher import compile_matcher
from apps.moderation.filter.patterns import canonical_whitelist_pattern
from apps.moderation.filter.policy import check_message_text
from apps.moderation.filter.urls import extract_urls
from apps.organizations.models import Organization
from tests.builders import make_chatroom
from tests.factories import ChannelFactory, MemberFactory, MessageFactory
from tests.personas import BASE, make_member, personal_client

from .helpers import blacklist, whitelist

CREATE = "/api/v2/message"


def fit(unit: str, size: int) -> str:
    """``unit`` repeated to exactly ``size`` characters."""
    return (unit * (size // len(unit) + 1))[:size]


def hostile_texts(size: int) -> dict[str, str]:
    """The shapes of benchmarks/filter.py's adversarial texts, ``size`` characters."""
    return {
        "a.": fit("a.", size),
        "é.": fit("é.", size),
        "a.b words": fit("a.b ", size),
        "www.": fit("www.", size),
        "://": fit("://", size),
        "a:": fit("a:", size),
        "dots": fit(".", size),
        "dashes": fit("-", size),
        "hyphens then a domain": fit("a-", size - 3) + ".bc",
        "cjk full stops": fit("a\u3002", size),
        "fullwidth dots": fit("\uff41\uff0e", size),
        "a scheme then a label chain": "http://" + fit("a.", size - 7),
        "failed chains": fit("a.b.c.1,", size),
        "a failed chain before a link": fit("a.", size - 9) + ",good.com",
        "too-long labels": fit("a" * 64 + ".", size),
        "invalid labels": fit("a.-", size),
        "hyphenated labels": fit("a-a.", size),
        "urls in one word": fit("a.www.bc!", size),
        "one long host": fit("ab.", size - 2) + "ab",
        "allowed urls in one word": fit("good.com,", size),
        "allowed urls on lines": fit("good.com\n", size),
        "distinct allowed urls": fit(
            " ".join(f"u{i}.good.com" for i in range(size // 10)) + " ", size
        ),
        "hostless links": fit("javascript:", size),
    }


def spans(matches: Iterator[re.Match[str]]) -> list[tuple[int, int]]:
    return [match.span() for match in matches]


def blocked(org: Organization, text: str) -> DomainError | None:
    try:
        check_message_text(organization=org, texts=[text])
    except DomainError as exc:
        return exc
    return None


# --- URL extraction in linear time -----------------------------------------------------------


@pytest.mark.parametrize("name", list(hostile_texts(10)))
def test_a_text_of_many_short_words_finds_the_same_urls_as_before(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 600 characters: the definition's own scan (quadratic) is still quick there
    text = hostile_texts(600)[name]
    assert spans(filter_urls._url_matches(text)) == spans(filter_urls._URL.finditer(text))
    urls = extract_urls(text)
    monkeypatch.setattr(filter_urls, "_url_matches", filter_urls._URL.finditer)  # as before
    assert urls == extract_urls(text)


def test_random_texts_find_the_same_urls_as_the_definition() -> None:
    rng = random.Random(20260301)
    pieces = [
        *"ab1._-:/w@#?,é²K ",
        *("www.", "WWW.", "http://", "://", "javascript:", "data:", "ab.cd", "1.", "\n"),
        *("x.com", "script:", "<", "'", "\u3002", "\u017f", "\u0131", "\u0130", "\u212a"),
        *("JavaScr\u0131pt:", "vb\u017fcript:"),  # (?i) spellings of the hostless schemes
    ]
    for _ in range(3000):
        parts = []
        for _ in range(rng.randint(1, 30)):
            if rng.random() < 0.1:  # a label run around the 63-character limit
                run = rng.choice((14, 16, 62, 63, 64, 70))
                parts.append("".join(rng.choice("ab-1_é") for _ in range(run)))
            else:
                parts.append(rng.choice(pieces))
        text = "".join(parts)
        assert spans(filter_urls._url_matches(text)) == spans(filter_urls._URL.finditer(text)), text


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("a." * 4999, []),
        ("é." * 4999, []),
        ("a\u3002" * 4999, []),
        ("a.b " * 2500, []),
        ("a.1," * 2500, []),
        ("http://" + "a." * 4996, [("a." * 4995 + "a", "")]),
        ("a." * 4990 + ",good.com", [("good.com", "")]),
        # a label is at most 63 characters: the domain starts after a hyphen
        ("a-" * 4990 + "a.bc", [("a-" * 31 + "a.bc", "")]),
        ("www.x.com/a " * 833, [("x.com", "/a")] * 833),
    ],
)
def test_hostile_texts_of_the_maximum_length_find_the_expected_urls(
    text: str, urls: list[tuple[str, str]]
) -> None:
    assert len(text) <= MAX_TEXT_LENGTH
    assert extract_urls(text) == urls


class _Counting:
    """A compiled regex that records what each call may read (see the test below)."""

    def __init__(self, name: str, regex: re.Pattern[str], log: list[tuple[str, int]]) -> None:
        self.name, self.regex, self.log = name, regex, log

    def _chain_end(self, text: str, pos: int) -> int:
        chain = _LABEL_CHAIN.match(text, pos)
        return pos if chain is None else chain.end()

    def match(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> Any:
        found = self.regex.match(text, pos, endpos)
        end = pos if found is None else found.end()
        if self.name in ("_URL", "_BARE_URL", "_LABEL_CHAIN"):  # a chain of labels
            end = max(end, self._chain_end(text, pos))
        self.log.append((self.name, end - pos))
        return found

    def search(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> Any:
        assert self.name != "_URL", "_URL scans every start: quadratic (use _url_matches)"
        found = self.regex.search(text, pos, endpos)
        self.log.append(
            (self.name, (min(endpos, len(text)) if found is None else found.end()) - pos)
        )
        return found

    def finditer(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> Any:
        assert self.name != "_URL", "_URL scans every start: quadratic (use _url_matches)"
        found = list(self.regex.finditer(text, pos, endpos))
        self.log.append((self.name, min(endpos, len(text)) - pos))
        self.log.extend((self.name, 0) for _ in found)
        return iter(found)


_LABEL_CHAIN = filter_urls._LABEL_CHAIN
_SCANNER_REGEXES = (
    "_URL",
    "_PREFIXED_URL",
    "_PREFIXED_START",
    "_PREFIXED_ANCHOR",
    "_BARE_URL",
    "_LABEL_CHAIN",
    "_LABEL_RUN",
    "_WORD_START",
    "_TLD_DOT_REVERSED",
    "_CHAIN_BEFORE_REVERSED",
)


@pytest.mark.parametrize("name", list(hostile_texts(10)))
def test_url_extraction_reads_each_character_a_bounded_number_of_times(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Machine-independent linearity: every regex call of the URL scanner is logged with
    the span it may read (its match, the chain of labels it tries, or the stretch it
    searches; each also reads a bounded look-around, at most ~64 characters, counted as
    one call). At the maximum length the spans add up to a few times the text's length
    and the calls stay under it. _URL.finditer (or search) would read ~n²/4 characters
    on "a." * 4999 (12.5 million): the proxy refuses it."""
    log: list[tuple[str, int]] = []
    for regex_name in _SCANNER_REGEXES:
        regex = getattr(filter_urls, regex_name)
        monkeypatch.setattr(filter_urls, regex_name, _Counting(regex_name, regex, log))
    text = hostile_texts(MAX_TEXT_LENGTH)[name]

    list(filter_urls._iter_urls(text))

    read = sum(span for _, span in log)
    assert read <= 8 * len(text), (read, len(log))  # 1-5 times today
    assert len(log) <= len(text)


@pytest.mark.parametrize("name", list(hostile_texts(10)))
def test_the_whitelist_check_reads_each_character_a_bounded_number_of_times(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same count for the whole whitelist check: its word scan and its runs of plain
    hosts (``_PLAIN_HOSTS``) as well as the URL scanner."""
    log: list[tuple[str, int]] = []
    for regex_name in (*_SCANNER_REGEXES, "_URL_HINT", "_PLAIN_HOSTS", "_NONSPACE_RUN", "_GAP"):
        module = filter_urls if regex_name in _SCANNER_REGEXES else filter_whitelist
        regex = getattr(module, regex_name)
        monkeypatch.setattr(module, regex_name, _Counting(regex_name, regex, log))
    filter_whitelist._word_urls.cache_clear()
    text = hostile_texts(MAX_TEXT_LENGTH)[name]

    compile_matcher((), ["good.com"]).first_disallowed_url(text)

    read = sum(span for _, span in log)
    assert read <= 8 * len(text), (read, len(log))
    assert len(log) <= len(text)


def test_words_are_cut_where_split_cuts_them_whatever_the_whitespace() -> None:
    text = "x" * 5000 + "\n" + "a.bc\n" * 900 + "z\u00a0good.com\u3000b.cd \t e.fg"
    words = list(filter_whitelist._words_with(filter_whitelist._URL_HINT, text))
    assert words == [w for w in text.split() if filter_whitelist._URL_HINT.search(w)]


def test_a_long_hostile_word_is_read_only_up_to_its_first_refused_url() -> None:
    matcher = compile_matcher((), ["good.com"])
    assert matcher.first_disallowed_url(fit("a.www.bc!", MAX_TEXT_LENGTH)) == "a.www.bc"
    assert matcher.first_disallowed_url(fit("good.com,", 9000) + "evil.io") == "evil.io"


# --- plain hosts, read at once ----------------------------------------------------------------

# Hosts the plain-host path reads (and near misses it must leave to the general path),
# and what can stand between them.
_HOST_PIECES = [
    *("good.com", "GOOD.Com", "a.good.com", "b-c.good.com", "x1.good.com", "1.2.good.com"),
    *("ok.org", "acme.io", "acme.io/docs/a", "evil.com", "good.com.evil.io", "evil.good"),
    *("report.pdf", "notes.TXT", "a.good.pdf", "www.good.com", "WWW.evil.com", "wwwx.good.com"),
    *("a_b.good.com", "-a.good.com", "a-.good.com", "good.co", "good.c", "good.com1"),
    *("a_.evil.com", "x_y.evil.com", "-a.evil.com", "a-.evil.com", "a.-b.evil.com"),
    *("x" * 63 + ".good.com", "x" * 64 + ".good.com", "good." + "c" * 24, "good." + "c" * 25),
    *("a." * 126 + "good.com", "a." * 127 + "good.com", "münchen.de", "evil\u3002com"),
    *("https://good.com/docs", "http://evil.com", "good.com/x", "good.com:80", "ok.org?q"),
    *("good.com:8evil.com", "ok.org#a.evil.com", "good.com/a,evil.com", "good.com@evil.com"),
    *("user@evil.com", "javascript:alert(1)", "www.", "a.b", "3.14", "end."),
]
_SEPARATOR_PIECES = [
    *(",", ";", "!", ")", "]", "}", ",,", "!)", " ", "\n", "\t", "\u00a0", "\u3000", ", "),
    *("(", ".", ":", "@", "/", "-", "_", "'", '"', "<", "#", "?", "\u3002", ""),
]


def _plain_text(rng: random.Random, tokens: int) -> str:
    """Hosts (mostly allowed ones, so runs are long) and separators, at random."""
    parts = []
    for _ in range(tokens):
        if rng.random() < 0.7:
            parts.append(rng.choice(("good.com", "a.good.com", "ok.org", "B.GOOD.COM")))
        else:
            parts.append(rng.choice(_HOST_PIECES))
        # mostly what the plain-host path reads between hosts
        separators = _SEPARATOR_PIECES[:14] if rng.random() < 0.85 else _SEPARATOR_PIECES
        parts.append(rng.choice(separators))
    return "".join(parts)


def test_plain_hosts_read_at_once_are_the_urls_the_definition_finds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What first_disallowed_url relies on: the hosts of a _PLAIN_HOSTS match, then the
    URLs of the rest of the text on its own, are the URLs of the text (by _URL itself)."""
    monkeypatch.setattr(filter_urls, "_url_matches", filter_urls._URL.finditer)  # the definition
    rng = random.Random(20260302)
    for _ in range(1500):
        text = _plain_text(rng, rng.randint(1, 90))
        expected = extract_urls(text)
        pos, read = 0, []
        while (end := filter_whitelist._PLAIN_HOSTS.match(text, pos).end()) > pos:
            hosts = filter_whitelist._PLAIN_SEPARATORS.split(text[pos:end].lower())
            hosts = [h for h in hosts if h and h.rsplit(".", 1)[1] not in filter_urlparts._NOT_TLDS]
            assert filter_whitelist._plain_hosts(text[pos:end]) == list(dict.fromkeys(hosts)), text
            read += [(host, "") for host in hosts]
            pos = end
        assert read + extract_urls(text[pos:]) == expected, text


def _first_disallowed_reference(matcher: Any, text: str) -> str | None:
    for host, path in extract_urls(filter_text.normalize_text(text)):
        if not matcher.url_allowed(host, path):
            return host + path
    return None


def test_texts_of_many_hosts_find_the_same_refused_url_as_the_definition() -> None:
    matcher = compile_matcher((), ["good.com", "ok.org", "acme.io/docs", "good." + "c" * 24])
    rng = random.Random(20260303)
    for _ in range(1500):
        text = _plain_text(rng, rng.choice((3, 30, 200)))
        expected = _first_disallowed_reference(matcher, text)
        assert matcher.first_disallowed_url(text) == expected, text


@pytest.mark.parametrize("separator", [",", " ", "\n", ");", ", "])
@pytest.mark.parametrize("allowed", [0, 1, 63, 64, 65, 500])
def test_a_refused_host_after_many_allowed_ones_is_found(separator: str, allowed: int) -> None:
    matcher = compile_matcher((), ["good.com", "acme.io/docs"])
    for refused in ["evil.io", "acme.io", "EVIL.io", "evil.io/x"]:
        text = separator.join(["a.good.com", "good.com"] * allowed + [refused, "ok.org"])
        found = matcher.first_disallowed_url(text)
        assert found == _first_disallowed_reference(matcher, text), text[-60:]
        assert found is not None and found.startswith(refused.lower()), found
    assert matcher.first_disallowed_url(separator.join(["x.good.com"] * allowed)) is None
    text = separator.join(["good.com"] * allowed + ["report.pdf", "acme.io/docs/a"])
    assert matcher.first_disallowed_url(text) is None


def test_a_host_longer_than_a_domain_name_is_never_whitelisted() -> None:
    matcher = compile_matcher((), ["good.com"])
    assert matcher.first_disallowed_url("see " + "a." * 120 + "good.com") is None  # 248
    refused = matcher.first_disallowed_url("see " + "a." * 130 + "good.com")  # 268
    assert refused == "a." * 130 + "good.com"
    assert matcher.first_disallowed_url("é." * 4990 + "good.com") is not None
    assert not matcher.url_allowed("x" * 250 + ".good.com", "")


# --- invisible-only messages are empty --------------------------------------------------------

INVISIBLE = [
    "\u200b" * 9999,  # zero-width space
    "\u2060" * 50,  # word joiner
    "\ufeff",  # byte order mark
    " \u200b\n\u2063\t\u200d ",  # with whitespace, invisible separator, joiner
    "\u3164\u115f\u1160\uffa0",  # Hangul fillers
    "\u2800\u2800",  # Braille blank
    "\U000e0041\U000e0042\U000e007f",  # tag characters
    "\u202e\u2066\u2069\u200e",  # bidi controls
    "\ufe0f\u034f\u180e",  # variation selector, grapheme joiner, Mongolian separator
]


@pytest.fixture
def channel(org: Organization) -> Any:
    return ChannelFactory(organization=org, channel_id="general")


@pytest.mark.parametrize("text", INVISIBLE)
def test_an_invisible_only_message_is_refused_as_empty(api, org, channel, text: str) -> None:
    blacklist(org, ".", r"\S")  # filters that block everything visible

    response = api.post(
        CREATE, {"channelId": "general", "type": "text", "data": {"text": text}}, format="json"
    )

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid_parameter"
    assert response.json()["field"] == "data.text"
    assert response.json()["message"] == "data.text must be a non-empty string."
    assert not Message.objects.exists()


def test_one_visible_character_among_invisible_ones_makes_a_message(api, channel) -> None:
    text = "\u200b" * 500 + "hi" + "\u2060" * 500

    response = api.post(
        CREATE, {"channelId": "general", "type": "text", "data": {"text": text}}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["message"]["data"] == {"text": text}


def test_an_invisible_only_chatroom_message_is_refused_as_empty(org) -> None:
    member = make_member(org, user_id="bob")
    room = make_chatroom(org, "Team", [member])

    response = personal_client(member).post(
        f"{BASE}/chatrooms/{room.pk}/messages", {"message": "\u200b" * 9999}, format="json"
    )

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_parameter"
    assert not Message.objects.exists()


def test_an_edit_to_invisible_only_text_is_refused_as_empty(org, channel) -> None:
    author = MemberFactory(organization=org, user_id="alice")
    message = MessageFactory(channel=channel, author=author, type="text", data={"text": "hi"})

    with pytest.raises(DomainError) as caught:
        message_text_update(
            organization=org, actor=Actor.system(), message=message, text="\u200b \ufeff"
        )

    assert caught.value.code == "invalid_parameter"
    assert caught.value.field == "text"
    assert caught.value.message == "text must be a non-empty string."
    message.refresh_from_db()
    assert message.data == {"text": "hi"}


# --- hostless links under the whitelist -------------------------------------------------------

HOSTLESS = [
    ("click javascript:alert(1)", "javascript:alert(1)"),
    ("click JavaScript:alert(document.cookie)", "javascript:alert(document.cookie)"),
    ("<a href=javascript:void(0)>x</a>", "javascript:void(0)"),
    ("javascript://good.com/%0Aalert(1)", "javascript://good.com/%0Aalert(1)"),
    ("see data:text/html;base64,PHNjcmlwdD4=", "data:text/html;base64,PHNjcmlwdD4="),
    ("DATA:image/svg+xml,<svg", "data:image/svg+xml,"),
    ("vbscript:msgbox(1)", "vbscript:msgbox(1)"),
    (
        "\uff4a\uff41\uff56\uff41\uff53\uff43\uff52\uff49\uff50\uff54\uff1aalert(1)",
        "javascript:alert(1)",
    ),
    ("привет javascript:alert(1)", "javascript:alert(1)"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("text", "url"), HOSTLESS)
def test_a_javascript_link_is_refused_by_the_whitelist(
    org: Organization, text: str, url: str
) -> None:
    whitelist(org, "good.com")

    refused = blocked(org, text)

    assert refused is not None and refused.code == "url_not_whitelisted", text
    assert refused.message == f"The URL “{url}” is not whitelisted."


@pytest.mark.django_db
def test_a_javascript_link_passes_when_the_organization_has_no_whitelist(
    org: Organization,
) -> None:
    for text, _ in HOSTLESS:
        assert blocked(org, text) is None, text


@pytest.mark.parametrize(
    "pattern", ["javascript:alert(1)", "javascript:", "data:text/html", "vbscript:x"]
)
def test_no_whitelist_record_can_allow_a_hostless_link(pattern: str) -> None:
    with pytest.raises(DomainError) as caught:
        canonical_whitelist_pattern(pattern)
    assert caught.value.code == "invalid_pattern"
    matcher = compile_matcher((), ["good.com", "javascript", "data.com"])
    assert not matcher.url_allowed("javascript:", "alert(1)")
    assert not matcher.url_allowed("data:", "text/html,x")


def test_a_hostless_link_is_extracted_as_its_scheme_and_the_rest() -> None:
    assert extract_urls("go JavaScript:alert(1) now") == [("javascript:", "alert(1)")]
    assert extract_urls("x data:,hi and vbscript:y") == [("data:", ",hi"), ("vbscript:", "y")]


@pytest.mark.parametrize(
    "text",
    [
        "here is the data: 1, 2, 3",
        "Data:",
        "metadata:x and bigdata:y",
        "I like JavaScript: it is fun",
        "javascript_is:fun",
        "my_data:1",
    ],
)
def test_words_like_data_or_javascript_are_not_links(text: str) -> None:
    assert extract_urls(text) == []
    assert compile_matcher((), ["good.com"]).first_disallowed_url(text) is None


def test_a_javascript_link_is_refused_when_posting_a_message(api, org, channel) -> None:
    whitelist(org, "good.com")

    response = api.post(
        CREATE,
        {"channelId": "general", "type": "text", "data": {"text": "see javascript:alert(1)"}},
        format="json",
    )

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "url_not_whitelisted"
    assert response.json()["field"] == "data.text"
    assert not Message.objects.exists()
