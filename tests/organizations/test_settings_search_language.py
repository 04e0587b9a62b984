"""The search language of ``organization_settings_update``: validated against the
database's text search configurations, audited, and applied to the messages already
there (PostgreSQL re-indexes them in the same transaction)."""

from __future__ import annotations

import pytest
from django.db import connection

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.core.errors import DomainError
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
    assert vector(ours) == "'run':1"
    assert vector(theirs) == "'running':1"
    edited = MessageFactory(channel=ours.channel, data={"text": "jumping"})
    assert vector(edited) == "'jump':1"
