"""Record services: validation first, atomic, filter_version bump, audit, limits."""

from __future__ import annotations

import pytest

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.core.errors import DomainError
from apps.moderation import services
from apps.moderation.models import BlacklistRecord, WhitelistRecord
from apps.moderation.selectors import blacklist_record_get, whitelist_record_get
from apps.organizations.models import Organization

from .helpers import blacklist, snapshot, version, whitelist

pytestmark = pytest.mark.django_db

#: "BAD" in fullwidth letters (NFKC turns them into plain ones).
FULLWIDTH_BAD = "\uff22\uff21\uff24"


def test_it_adds_records_bumps_the_version_and_audits(org: Organization, actor: Actor) -> None:
    before = version(org)
    result = services.blacklist_records_add(
        organization=org, actor=actor, patterns=["bad", "ugly"], is_match_exact_word=True
    )
    assert [r.pattern for r in result.records] == ["bad", "ugly"]
    assert result.created == 2
    assert all(r.is_match_exact_word and r.pk for r in result.records)
    assert version(org) == before + 1
    entry = AuditEntry.objects.get(organization=org, action="blacklist.add")
    assert entry.actor_account == actor.account
    assert entry.target_type == "blacklist_record"
    assert entry.target_id == "2 records"
    assert entry.after == {"patterns": ["bad", "ugly"], "isMatchExactWord": True}


def test_adding_existing_patterns_is_idempotent(org: Organization, actor: Actor) -> None:
    (existing,) = blacklist(org, "bad")
    before = version(org)
    result = services.blacklist_records_add(
        organization=org, actor=actor, patterns=["bad", FULLWIDTH_BAD], is_match_exact_word=True
    )
    # fullwidth "BAD" is stored as "BAD" (NFKC): a new record; "bad" comes back unchanged
    assert [r.pattern for r in result.records] == ["bad", "BAD"]
    assert result.records[0].pk == existing.pk
    assert result.records[0].is_match_exact_word is False
    assert result.created == 1

    again = services.blacklist_records_add(organization=org, actor=actor, patterns=["bad"])
    assert again.created == 0
    assert version(org) == before + 1  # the no-op add did not bump
    assert AuditEntry.objects.filter(action="blacklist.add").count() == 1


def test_one_invalid_pattern_writes_nothing(org: Organization, actor: Actor) -> None:
    before = version(org)
    with pytest.raises(DomainError) as caught:
        services.blacklist_records_add(organization=org, actor=actor, patterns=["fine", r"(a)\1"])
    assert (caught.value.code, caught.value.field) == ("invalid_pattern", "regexs")
    assert not BlacklistRecord.objects.exists()
    assert version(org) == before
    assert not AuditEntry.objects.exists()


def test_the_per_organization_cap_holds(org: Organization, actor: Actor, settings) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "MAX_FILTER_RECORDS": 3}
    blacklist(org, "a1", "a2")
    with pytest.raises(DomainError) as caught:
        services.blacklist_records_add(organization=org, actor=actor, patterns=["b1", "b2"])
    assert caught.value.code == "too_many_records"
    assert BlacklistRecord.objects.count() == 2
    services.blacklist_records_add(organization=org, actor=actor, patterns=["b1", "a1"])
    assert BlacklistRecord.objects.count() == 3


def test_deleting_an_unknown_rule_id_deletes_nothing(org: Organization, actor: Actor) -> None:
    blacklist(org, "bad", "ugly")
    before = version(org)
    with pytest.raises(DomainError) as caught:
        services.blacklist_records_delete(organization=org, actor=actor, rule_ids=["bad", "nope"])
    assert (caught.value.code, caught.value.field) == ("rule_not_found", "ruleIds")
    assert "nope" in caught.value.message
    assert BlacklistRecord.objects.count() == 2
    assert version(org) == before


def test_delete_removes_the_records_and_audits(org: Organization, actor: Actor) -> None:
    blacklist(org, "bad", "ugly", exact=True)
    before = version(org)
    assert services.blacklist_records_delete(organization=org, actor=actor, rule_ids=["bad"]) == 1
    assert list(BlacklistRecord.objects.values_list("pattern", flat=True)) == ["ugly"]
    assert version(org) == before + 1
    entry = AuditEntry.objects.get(action="blacklist.delete")
    assert (entry.target_type, entry.target_id) == ("blacklist_record", "bad")
    assert entry.before == {"records": [{"pattern": "bad", "isMatchExactWord": True}]}


def test_update_changes_pattern_and_flag(org: Organization, actor: Actor) -> None:
    (record,) = blacklist(org, "bad")
    before = version(org)
    updated = services.blacklist_records_update(
        organization=org, actor=actor, record=record, new_pattern="worse", is_match_exact_word=True
    )
    assert (updated.pk, updated.pattern, updated.is_match_exact_word) == (record.pk, "worse", True)
    assert version(org) == before + 1
    entry = AuditEntry.objects.get(action="blacklist.update")
    assert entry.before == {"pattern": "bad", "isMatchExactWord": False}
    assert entry.after == {"pattern": "worse", "isMatchExactWord": True}


def test_update_keeps_the_flag_when_not_given_and_a_no_op_writes_nothing(
    org: Organization, actor: Actor
) -> None:
    (record,) = blacklist(org, "bad", exact=True)
    before = version(org)
    record = services.blacklist_records_update(organization=org, actor=actor, record=record)
    assert record.is_match_exact_word is True
    assert version(org) == before
    assert not AuditEntry.objects.exists()


def test_update_to_an_existing_pattern_is_a_conflict(org: Organization, actor: Actor) -> None:
    bad, _ugly = blacklist(org, "bad", "ugly")
    with pytest.raises(DomainError) as caught:
        services.blacklist_records_update(
            organization=org, actor=actor, record=bad, new_pattern="ugly"
        )
    assert (caught.value.code, caught.value.field) == ("rule_exists", "ruleId")
    assert snapshot(BlacklistRecord, org)[0][1] == "bad"


def test_update_of_an_unknown_or_foreign_rule_is_not_found(
    org: Organization, other_org: Organization, actor: Actor
) -> None:
    blacklist(other_org, "bad")
    with pytest.raises(DomainError) as caught:
        services.blacklist_records_update(
            organization=org,
            actor=actor,
            record=blacklist_record_get(organization=org, rule_id="bad"),
            new_pattern="x",
        )
    assert caught.value.code == "rule_not_found"
    assert snapshot(BlacklistRecord, other_org)[0][1] == "bad"


def test_whitelist_services_canonicalize_and_find_by_any_spelling(
    org: Organization, actor: Actor
) -> None:
    result = services.whitelist_records_add(
        organization=org, actor=actor, patterns=["https://www.Example.com/", "example.com"]
    )
    assert [r.pattern for r in result.records] == ["example.com"]
    record = services.whitelist_records_update(
        organization=org,
        actor=actor,
        record=whitelist_record_get(organization=org, rule_id="http://example.com"),
        new_pattern="acme.io/docs",
    )
    assert record.pattern == "acme.io/docs"
    assert (
        services.whitelist_records_delete(
            organization=org, actor=actor, rule_ids=["https://acme.io/docs/"]
        )
        == 1
    )
    assert not WhitelistRecord.objects.exists()
    actions = list(AuditEntry.objects.order_by("pk").values_list("action", flat=True))
    assert actions == ["whitelist.add", "whitelist.update", "whitelist.delete"]


def test_whitelist_update_to_an_existing_url_is_a_conflict(org: Organization, actor: Actor) -> None:
    a_com, _b_com = whitelist(org, "a.com", "b.com")
    with pytest.raises(DomainError) as caught:
        services.whitelist_records_update(
            organization=org, actor=actor, record=a_com, new_pattern="www.b.com"
        )
    assert caught.value.code == "rule_exists"


def test_too_many_patterns_in_one_call_are_refused(org: Organization, actor: Actor) -> None:
    with pytest.raises(DomainError) as caught:
        services.whitelist_records_add(
            organization=org, actor=actor, patterns=[f"a{i}.com" for i in range(1001)]
        )
    assert caught.value.code == "invalid_parameter"
    assert not WhitelistRecord.objects.exists()
