"""The search language of ``organization_settings_update``: validated against the
database's text search configurations, audited, and applied to the messages already
there (PostgreSQL re-indexes them in the same transaction)."""

from __future__ import annotations

import pytest
from django.db import connection

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.core.errors import DomainError
from apps.messages.services.search_index import search_reindex, search_reindex_pending
from apps.organizations.services import (
    BUILTIN_SEARCH_LANGUAGES,
    organization_settings_update,
    search_language_choices,
)
from tests.factories import ChannelFactory, MessageFactory

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="search vectors: PostgreSQL only"
)


def test_it_sets_the_language_and_audits_it(org):
    organization_settings_update(organization=org, actor=Actor.system(), search_language="german")
    org.refresh_from_db()
    assert org.search_language == "german"
    entry = AuditEntry.objects.get(action="organization.settings")
    assert (entry.before["searchLanguage"], entry.after["searchLanguage"]) == ("simple", "german")


def test_leaving_it_out_keeps_it(org):
    organization_settings_update(organization=org, actor=Actor.system(), filter_policy="mask")
    org.refresh_from_db()
    assert org.search_language == "simple"
    assert "searchLanguage" not in AuditEntry.objects.get().after


@pytest.mark.parametrize(
    "value", ["klingon", "English", "", "simple; DROP TABLE x", "pg_catalog.english", 3]
)
def test_it_refuses_what_is_not_a_configuration(org, value):
    with pytest.raises(DomainError) as caught:
        organization_settings_update(organization=org, actor=Actor.system(), search_language=value)
    assert (caught.value.code, caught.value.field) == ("invalid_parameter", "searchLanguage")
    org.refresh_from_db()
    assert org.search_language == "simple"
    assert not AuditEntry.objects.exists()


def test_the_choices_are_the_builtin_configurations_at_least():
    choices = search_language_choices()
    assert "simple" in choices and "english" in choices
    if connection.vendor != "postgresql":
        assert choices == list(BUILTIN_SEARCH_LANGUAGES)


@on_postgresql
def test_a_change_reindexes_the_organizations_messages_only(org, other_org):
    ours = MessageFactory(channel=ChannelFactory(organization=org), data={"text": "running"})
    theirs = MessageFactory(
        channel=ChannelFactory(organization=other_org), data={"text": "running"}
    )

    def vector(message) -> str:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT search_vector::text FROM chat_messages_message WHERE id = %s",
                [message.pk],
            )
            return cursor.fetchone()[0]

    assert vector(ours) == vector(theirs) == "'running':1"
    organization_settings_update(organization=org, actor=Actor.system(), search_language="english")
    new = MessageFactory(channel=ours.channel, data={"text": "jumping"})
    assert vector(new) == "'jump':1"  # new messages at once
    assert vector(ours) == "'running':1"  # older ones by the worker, in batches
    assert search_reindex_pending() == [org.pk]
    assert search_reindex(organization_pk=org.pk, batch_size=1) >= 2
    assert vector(ours) == "'run':1"
    assert vector(theirs) == "'running':1"
    assert search_reindex_pending() == []
    assert search_reindex(organization_pk=org.pk) == 0  # done: a rerun does nothing


def test_a_language_change_is_recorded_as_work_and_queued_after_the_commit(org):
    organization_settings_update(organization=org, actor=Actor.system(), search_language="german")
    org.refresh_from_db()
    assert org.search_index_generation == 1 > org.search_indexed_generation
    assert search_reindex_pending() == [org.pk]
    organization_settings_update(organization=org, actor=Actor.system(), search_language="german")
    org.refresh_from_db()
    assert org.search_index_generation == 1  # unchanged language: no new work


def test_a_claimed_reindex_is_not_run_twice_and_a_lapsed_claim_is_taken_over(org):
    from datetime import timedelta

    from django.utils import timezone

    from apps.organizations.models import Organization

    organization_settings_update(organization=org, actor=Actor.system(), search_language="german")
    held = timezone.now() + timedelta(minutes=5)
    Organization.objects.filter(pk=org.pk).update(search_reindex_claimed_until=held)
    assert search_reindex_pending() == []  # held by a worker: the sweep leaves it
    assert search_reindex(organization_pk=org.pk) == 0
    org.refresh_from_db()
    assert org.search_indexed_generation == 0
    lapsed = timezone.now() - timedelta(seconds=1)  # that worker died
    Organization.objects.filter(pk=org.pk).update(search_reindex_claimed_until=lapsed)
    assert search_reindex_pending() == [org.pk]
    search_reindex(organization_pk=org.pk)
    org.refresh_from_db()
    assert (org.search_indexed_generation, org.search_reindex_claimed_until) == (1, None)
