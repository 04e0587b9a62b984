"""The blacklist and whitelist pages: list, search, add in bulk, edit, delete, and the
"try a message" box (which changes nothing)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.moderation.models import BlacklistRecord, WhitelistRecord
from apps.moderation.services import blacklist_records_add, whitelist_records_add
from apps.organizations.models import Organization
from apps.reports.models import Report
from tests.factories import ChannelFactory, MessageFactory

pytestmark = pytest.mark.django_db


def url(name: str, org: Organization, *args: object) -> str:
    return reverse(f"console:{name}", args=[org.slug, *args])


def flash(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def add_blacklist(org: Organization, *patterns: str, exact: bool = False) -> list[BlacklistRecord]:
    return blacklist_records_add(
        organization=org, actor=Actor.system(), patterns=list(patterns), is_match_exact_word=exact
    ).records


def add_whitelist(org: Organization, *patterns: str) -> list[WhitelistRecord]:
    return whitelist_records_add(
        organization=org, actor=Actor.system(), patterns=list(patterns)
    ).records


# --- Lists ------------------------------------------------------------------------------


def test_it_lists_the_blacklist_to_a_moderator(moderator_client: Client, org, other_org) -> None:
    add_blacklist(org, "darn", "heck")
    add_blacklist(other_org, "globex-secret")
    response = moderator_client.get(url("filters", org))
    assert response.status_code == 200
    body = response.content.decode()
    assert "darn" in body and "heck" in body
    assert "globex-secret" not in body
    assert "Acme" in body  # the page says which organization it shows


def test_it_lists_the_whitelist(moderator_client: Client, org) -> None:
    add_whitelist(org, "example.com/docs")
    response = moderator_client.get(url("filters_whitelist", org))
    assert response.status_code == 200
    assert "example.com/docs" in response.content.decode()


def test_it_searches_the_records(moderator_client: Client, org) -> None:
    add_blacklist(org, "apple", "banana")
    body = moderator_client.get(url("filters", org), {"q": "APP"}).content.decode()
    assert "apple" in body and "banana" not in body


def test_it_pages_through_many_records(moderator_client: Client, org) -> None:
    add_blacklist(org, *[f"word{i:03}" for i in range(60)])
    first = moderator_client.get(url("filters", org), {"sort": "pattern"})
    assert "word000" in first.content.decode() and "word059" not in first.content.decode()
    cursor = first.context["page"].next_cursor
    second = moderator_client.get(url("filters", org), {"sort": "pattern", "cursor": cursor})
    assert "word059" in second.content.decode() and "word000" not in second.content.decode()


def test_the_list_costs_the_same_queries_for_1_and_30_records(
    moderator_client: Client, org
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    add_blacklist(org, "one")
    with CaptureQueriesContext(connection) as one:
        moderator_client.get(url("filters", org))
    add_blacklist(org, *[f"more{i}" for i in range(29)])
    with CaptureQueriesContext(connection) as thirty:
        moderator_client.get(url("filters", org))
    # 5: session, account, the organizations (the base template's switcher list, which
    # holds this one), role, the page of records; the same whatever the number of records.
    assert len(one) == len(thirty) == 5


def test_anonymous_visitors_are_sent_to_the_login_page(client: Client, org) -> None:
    response = client.get(url("filters", org))
    assert response.status_code == 302 and reverse("console:login") in response["Location"]


# --- Adding -----------------------------------------------------------------------------


def test_it_adds_blacklist_records_in_bulk_one_per_line(
    moderator_client: Client, moderator, org
) -> None:
    response = moderator_client.post(
        url("filters_add", org, "blacklist"),
        {"patterns": "darn\n\n  heck  \nf[o0]o+\n", "is_match_exact_word": "on"},
        follow=True,
    )
    assert response.status_code == 200
    records = {
        r.pattern: r.is_match_exact_word for r in BlacklistRecord.objects.filter(organization=org)
    }
    assert records == {"darn": True, "heck": True, "f[o0]o+": True}
    assert "Added 3 blacklist records." in flash(response)
    entry = AuditEntry.objects.get(organization=org, action="blacklist.add")
    assert entry.actor_account == moderator
    assert entry.after["patterns"] == ["darn", "heck", "f[o0]o+"]


def test_it_keeps_existing_records_and_says_so(moderator_client: Client, org) -> None:
    add_blacklist(org, "darn")
    response = moderator_client.post(
        url("filters_add", org, "blacklist"), {"patterns": "darn\nheck"}, follow=True
    )
    assert "Added 1 blacklist record. 1 already existed and was kept." in flash(response)


def test_it_adds_nothing_and_names_every_bad_line(moderator_client: Client, org) -> None:
    response = moderator_client.post(
        url("filters_add", org, "blacklist"), {"patterns": "good\n(a\nfine\na*\n"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Line 2:" in body and "(a" in body
    assert "Line 4:" in body and "empty text" in body
    assert "Line 1:" not in body and "Line 3:" not in body
    assert not BlacklistRecord.objects.filter(organization=org).exists()
    assert not AuditEntry.objects.filter(organization=org).exists()
    assert "Nothing was added" in " ".join(flash(response))


def test_it_refuses_an_empty_textarea(moderator_client: Client, org) -> None:
    response = moderator_client.post(url("filters_add", org, "blacklist"), {"patterns": "\n  \n"})
    assert response.status_code == 400
    assert not BlacklistRecord.objects.exists()


def test_it_refuses_more_than_1000_lines(moderator_client: Client, org) -> None:
    lines = "\n".join(f"w{i}" for i in range(1001))
    response = moderator_client.post(url("filters_add", org, "blacklist"), {"patterns": lines})
    assert response.status_code == 400
    assert "At most 1000" in response.content.decode()
    assert not BlacklistRecord.objects.exists()


def test_it_adds_whitelist_urls_in_canonical_form(moderator_client: Client, org) -> None:
    response = moderator_client.post(
        url("filters_add", org, "whitelist"),
        {"patterns": "https://www.Example.com/Docs/\nchat.test"},
        follow=True,
    )
    assert response.status_code == 200
    assert set(WhitelistRecord.objects.values_list("pattern", flat=True)) == {
        "example.com/docs",
        "chat.test",
    }
    assert AuditEntry.objects.filter(organization=org, action="whitelist.add").exists()


def test_it_names_a_bad_url_line(moderator_client: Client, org) -> None:
    response = moderator_client.post(
        url("filters_add", org, "whitelist"), {"patterns": "example.com\nnot a url"}
    )
    assert response.status_code == 400
    assert "Line 2:" in response.content.decode()
    assert not WhitelistRecord.objects.exists()


def test_an_unknown_list_kind_is_a_404(moderator_client: Client, org) -> None:
    response = moderator_client.post(url("filters_add", org, "greylist"), {"patterns": "x"})
    assert response.status_code == 404


def test_adding_is_a_post_only(moderator_client: Client, org) -> None:
    assert moderator_client.get(url("filters_add", org, "blacklist")).status_code == 405


# --- Editing and deleting -----------------------------------------------------------------


def test_it_shows_the_edit_form(moderator_client: Client, org) -> None:
    (record,) = add_blacklist(org, "darn", exact=True)
    response = moderator_client.get(url("filters_edit", org, "blacklist", record.pk))
    assert response.status_code == 200
    assert 'value="darn"' in response.content.decode()


def test_it_edits_a_blacklist_record(moderator_client: Client, moderator, org) -> None:
    (record,) = add_blacklist(org, "darn")
    response = moderator_client.post(
        url("filters_edit", org, "blacklist", record.pk),
        {"pattern": "dang", "is_match_exact_word": "on"},
        follow=True,
    )
    record.refresh_from_db()
    assert (record.pattern, record.is_match_exact_word) == ("dang", True)
    assert "Saved blacklist record “dang”." in flash(response)
    entry = AuditEntry.objects.get(organization=org, action="blacklist.update")
    assert entry.before == {"pattern": "darn", "isMatchExactWord": False}
    assert entry.actor_account == moderator


def test_it_edits_a_whitelist_record(moderator_client: Client, org) -> None:
    (record,) = add_whitelist(org, "example.com")
    moderator_client.post(
        url("filters_edit", org, "whitelist", record.pk), {"pattern": "example.org"}
    )
    record.refresh_from_db()
    assert record.pattern == "example.org"
    assert AuditEntry.objects.filter(action="whitelist.update").exists()


def test_an_edit_to_a_bad_pattern_changes_nothing(moderator_client: Client, org) -> None:
    (record,) = add_blacklist(org, "darn")
    response = moderator_client.post(
        url("filters_edit", org, "blacklist", record.pk), {"pattern": "(unclosed"}
    )
    assert response.status_code == 400
    assert "not a valid pattern" in response.content.decode()
    record.refresh_from_db()
    assert record.pattern == "darn"
    assert not AuditEntry.objects.filter(action="blacklist.update").exists()


def test_an_edit_onto_an_existing_pattern_says_it_exists(moderator_client: Client, org) -> None:
    darn, _ = add_blacklist(org, "darn", "heck")
    response = moderator_client.post(
        url("filters_edit", org, "blacklist", darn.pk), {"pattern": "heck"}
    )
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    darn.refresh_from_db()
    assert darn.pattern == "darn"


def test_it_deletes_a_record(moderator_client: Client, moderator, org) -> None:
    (record,) = add_blacklist(org, "darn")
    response = moderator_client.post(
        url("filters_delete", org, "blacklist", record.pk), follow=True
    )
    assert not BlacklistRecord.objects.filter(pk=record.pk).exists()
    assert "Deleted blacklist record “darn”." in flash(response)
    entry = AuditEntry.objects.get(action="blacklist.delete")
    assert entry.before == {"records": [{"pattern": "darn", "isMatchExactWord": False}]}
    assert entry.actor_account == moderator


def test_the_delete_button_asks_for_confirmation(moderator_client: Client, org) -> None:
    add_blacklist(org, "darn")
    body = moderator_client.get(url("filters", org)).content.decode()
    assert "data-confirm=" in body


def test_it_deletes_a_whitelist_record(moderator_client: Client, org) -> None:
    (record,) = add_whitelist(org, "example.com")
    moderator_client.post(url("filters_delete", org, "whitelist", record.pk))
    assert not WhitelistRecord.objects.exists()


# --- Other organizations ---------------------------------------------------------------


def test_the_outsider_gets_404_on_the_pages_and_posts(outsider_client: Client, org) -> None:
    (record,) = add_blacklist(org, "darn")
    assert outsider_client.get(url("filters", org)).status_code == 404
    assert outsider_client.get(url("filters_whitelist", org)).status_code == 404
    assert outsider_client.get(url("filters_edit", org, "blacklist", record.pk)).status_code == 404
    assert (
        outsider_client.post(url("filters_add", org, "blacklist"), {"patterns": "x"}).status_code
        == 404
    )
    assert (
        outsider_client.post(
            url("filters_edit", org, "blacklist", record.pk), {"pattern": "y"}
        ).status_code
        == 404
    )
    assert (
        outsider_client.post(url("filters_delete", org, "blacklist", record.pk)).status_code == 404
    )
    assert outsider_client.post(url("filters_try", org), {"text": "darn"}).status_code == 404
    assert list(BlacklistRecord.objects.values_list("pattern", flat=True)) == ["darn"]
    assert not AuditEntry.objects.filter(actor_account__email="mod@globex.test").exists()


def test_another_organizations_record_id_is_a_404_in_ones_own_organization(
    outsider_client: Client, org, other_org
) -> None:
    (record,) = add_blacklist(org, "darn")
    (wl,) = add_whitelist(org, "example.com")
    assert (
        outsider_client.get(url("filters_edit", other_org, "blacklist", record.pk)).status_code
        == 404
    )
    response = outsider_client.post(
        url("filters_edit", other_org, "blacklist", record.pk), {"pattern": "owned"}
    )
    assert response.status_code == 404
    assert (
        outsider_client.post(url("filters_delete", other_org, "blacklist", record.pk)).status_code
        == 404
    )
    assert (
        outsider_client.post(url("filters_delete", other_org, "whitelist", wl.pk)).status_code
        == 404
    )
    record.refresh_from_db()
    assert record.pattern == "darn" and WhitelistRecord.objects.filter(pk=wl.pk).exists()


# --- Try a message ----------------------------------------------------------------------


def test_try_says_allowed_when_nothing_matches(moderator_client: Client, org) -> None:
    add_blacklist(org, "darn")
    response = moderator_client.post(url("filters_try", org), {"text": "hello there"})
    assert response.status_code == 200
    assert response.context["explanation"].verdict == "allowed"


def test_try_shows_the_blocking_record_and_the_matched_span(moderator_client: Client, org) -> None:
    add_blacklist(org, "darn")
    response = moderator_client.post(url("filters_try", org), {"text": "well DARNit, really"})
    explanation = response.context["explanation"]
    assert explanation.verdict == "blocked"
    assert explanation.error_code == "blacklisted_content"
    (match,) = explanation.records
    assert match.pattern == "darn" and not match.exact_word
    assert match.occurrences == [(5, 9, "DARN")]
    body = response.content.decode()
    assert "<mark>DARN</mark>" in body and "substring" in body


def test_try_explains_that_an_exact_word_record_ignores_longer_words(
    moderator_client: Client, org
) -> None:
    add_blacklist(org, "darn", exact=True)
    inside = moderator_client.post(url("filters_try", org), {"text": "darnit"}).context[
        "explanation"
    ]
    assert inside.verdict == "allowed"
    alone = moderator_client.post(url("filters_try", org), {"text": "oh darn!"})
    explanation = alone.context["explanation"]
    assert explanation.verdict == "blocked"
    assert explanation.records[0].exact_word
    assert explanation.records[0].occurrences == [(3, 7, "darn")]
    assert "whole words only" in alone.content.decode()


def test_try_names_a_url_that_is_not_whitelisted(moderator_client: Client, org) -> None:
    add_whitelist(org, "example.com")
    explanation = moderator_client.post(
        url("filters_try", org), {"text": "see https://evil.test/x and example.com/ok"}
    ).context["explanation"]
    assert explanation.verdict == "blocked"
    assert explanation.error_code == "url_not_whitelisted"
    assert explanation.disallowed_url == "evil.test/x"


def test_try_under_the_mask_policy_shows_the_masked_text(moderator_client: Client, org) -> None:
    org.filter_policy = Organization.FilterPolicy.MASK
    org.save(update_fields=["filter_policy"])
    add_blacklist(org, "darn", "heck")
    explanation = moderator_client.post(url("filters_try", org), {"text": "darn and heck"}).context[
        "explanation"
    ]
    assert explanation.verdict == "masked"
    assert explanation.stored_text == "*** and ***"
    assert [m.pattern for m in explanation.records] == ["darn", "heck"]


def test_try_under_the_flag_policy_opens_no_report(moderator_client: Client, org) -> None:
    org.filter_policy = Organization.FilterPolicy.FLAG
    org.save(update_fields=["filter_policy"])
    add_blacklist(org, "darn")
    audit_before = AuditEntry.objects.count()
    explanation = moderator_client.post(url("filters_try", org), {"text": "darn"}).context[
        "explanation"
    ]
    assert explanation.verdict == "flagged"
    assert "Blacklisted content: darn" in explanation.reason
    assert not Report.objects.exists()
    assert AuditEntry.objects.count() == audit_before


def test_try_works_with_a_get_too(moderator_client: Client, org) -> None:
    add_blacklist(org, "darn")
    response = moderator_client.get(url("filters_try", org), {"text": "darn"})
    assert response.context["explanation"].verdict == "blocked"


def test_try_refuses_an_empty_or_huge_text(moderator_client: Client, org) -> None:
    assert moderator_client.post(url("filters_try", org), {"text": ""}).status_code == 400
    assert moderator_client.post(url("filters_try", org), {"text": "x" * 4001}).status_code == 400


def test_try_escapes_the_text(moderator_client: Client, org) -> None:
    add_blacklist(org, "darn")
    body = moderator_client.post(
        url("filters_try", org), {"text": "<script>alert(1)</script> darn"}
    ).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body


# --- The verdict shows patterns as written (issue 16) ------------------------------------


def test_the_verdict_shows_a_regex_with_single_backslashes(moderator_client: Client, org) -> None:
    add_blacklist(org, r"\bfoo\b")
    response = moderator_client.post(url("filters_try", org), {"text": "a foo b"})
    explanation = response.context["explanation"]
    assert explanation.verdict == "blocked"
    assert explanation.reason == "The message contains blacklisted content (record “\\bfoo\\b”)."
    body = response.content.decode()
    assert "\\bfoo\\b" in body and "\\\\b" not in body


def test_the_masked_verdict_shows_a_regex_with_single_backslashes(
    moderator_client: Client, org
) -> None:
    org.filter_policy = Organization.FilterPolicy.MASK
    org.save(update_fields=["filter_policy"])
    add_blacklist(org, r"\d{3}")
    body = moderator_client.post(url("filters_try", org), {"text": "call 555"}).content.decode()
    assert "(record “\\d{3}”)" in body and "\\\\d" not in body


def test_a_bad_line_and_the_edit_messages_show_the_pattern_as_written(
    moderator_client: Client, org
) -> None:
    response = moderator_client.post(url("filters_add", org, "blacklist"), {"patterns": "\\bfoo("})
    assert response.status_code == 400
    errors = " ".join(response.context["add_form"].errors["patterns"])
    assert "Line 1: “\\bfoo(” is not a valid pattern" in errors and "\\\\" not in errors
    (record,) = add_blacklist(org, r"\bbar\b")
    saved = moderator_client.post(
        url("filters_edit", org, "blacklist", record.pk), {"pattern": r"\bbaz\b"}, follow=True
    )
    assert "Saved blacklist record “\\bbaz\\b”." in flash(saved)


# --- Draft patterns ----------------------------------------------------------------------


def messages_with(org: Organization, *texts: str) -> None:
    channel = ChannelFactory(organization=org, channel_id="general")
    for text in texts:
        MessageFactory(channel=channel, data={"text": text})


def test_a_draft_pattern_says_how_many_of_the_last_messages_it_would_have_matched(
    moderator_client: Client, org, other_org
) -> None:
    messages_with(org, "hello", "buy cheap pills", "CHEAP stuff", "cheapskate", "nothing")
    MessageFactory(channel=ChannelFactory(organization=other_org), data={"text": "cheap"})
    audit_before = AuditEntry.objects.count()
    response = moderator_client.post(url("filters_try", org), {"pattern": "cheap"})
    assert response.status_code == 200
    draft = response.context["draft"]
    assert (draft.matched, draft.scanned, draft.wanted) == (3, 5, 10_000)
    assert [("".join(p for p, _ in e.segments)) for e in draft.examples] == [
        "cheapskate",
        "CHEAP stuff",
        "buy cheap pills",
    ]
    assert draft.examples[1].segments == [("CHEAP", True), (" stuff", False)]
    body = response.content.decode()
    assert "would have matched <strong>3</strong> of the last 5 messages" in body
    assert "<mark>CHEAP</mark> stuff" in body
    assert not BlacklistRecord.objects.exists()  # nothing saved
    assert AuditEntry.objects.count() == audit_before


def test_a_draft_pattern_reads_only_the_last_n_messages(
    moderator_client: Client, org, settings
) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "FILTER_DRAFT_MESSAGES": 3}
    messages_with(org, "spam old", "spam", "fine", "spam new")  # the newest three: 2 match
    response = moderator_client.post(url("filters_try", org), {"pattern": "spam"})
    draft = response.context["draft"]
    assert (draft.matched, draft.scanned, draft.wanted) == (2, 3, 3)
    assert "of the last 3 messages" in response.content.decode()


def test_a_draft_exact_word_pattern_matches_as_a_saved_record_would(
    moderator_client: Client, org
) -> None:
    messages_with(org, "darn it", "darnit", "oh DARN!")
    draft = moderator_client.post(
        url("filters_try", org), {"pattern": "darn", "is_match_exact_word": "on"}
    ).context["draft"]
    assert draft.matched == 2 and draft.exact_word


def test_a_draft_pattern_the_engine_refuses_is_refused_with_its_reason(
    moderator_client: Client, org
) -> None:
    messages_with(org, "aaa")
    for pattern, why in [
        ("a*", "can match empty text"),
        ("\\pL{100}", "too complex"),
        ("(a)\\1", "not a valid pattern"),
    ]:
        response = moderator_client.post(url("filters_try", org), {"pattern": pattern})
        assert response.status_code == 400
        (error,) = response.context["draft_form"].errors["pattern"]
        assert why in error and f"“{pattern}”" in error
        assert response.context["draft"] is None


def test_a_hostile_regex_is_matched_in_linear_time_not_refused(
    moderator_client: Client, org
) -> None:
    messages_with(org, "a" * 3000 + "!", "aaaa")
    draft = moderator_client.post(url("filters_try", org), {"pattern": "(a+)+$"}).context["draft"]
    assert (draft.matched, draft.scanned) == (1, 2)


def test_the_draft_test_stops_at_its_time_budget_and_says_so(org) -> None:
    from apps.console.filters.draft import draft_pattern_test

    messages_with(org, "spam")
    result = draft_pattern_test(organization=org, pattern="spam", exact_word=False, budget=0)
    assert result.timed_out and result.scanned == 0 and result.matched == 0


def test_draft_examples_are_escaped_and_cut_around_the_match(moderator_client: Client, org) -> None:
    messages_with(org, "x" * 200 + " <script>alert(1)</script> " + "y" * 200)
    response = moderator_client.post(url("filters_try", org), {"pattern": "<script>"})
    (example,) = response.context["draft"].examples
    assert example.cut_before and example.cut_after
    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "<mark>&lt;script&gt;</mark>alert(1)" in body


def test_a_draft_is_tested_with_a_get_too_and_by_every_console_role(
    owner_client: Client,
    admin_client_: Client,
    moderator_client: Client,
    outsider_client: Client,
    org,
) -> None:
    messages_with(org, "spam")
    for client in (owner_client, admin_client_, moderator_client):
        response = client.get(url("filters_try", org), {"pattern": "spam"})
        assert response.status_code == 200 and response.context["draft"].matched == 1
    assert outsider_client.get(url("filters_try", org), {"pattern": "spam"}).status_code == 404
    assert outsider_client.post(url("filters_try", org), {"pattern": "spam"}).status_code == 404
