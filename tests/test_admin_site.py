"""The Django admin: every registered model's list renders for a superuser, with a
bounded number of queries, and moderation actions go through the audited services."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.models import AuditEntry
from apps.members.models import Member
from apps.messages.models import Message

from .factories import AccountFactory, MemberFactory, MessageFactory


@pytest.fixture
def superuser_client(db: None) -> Client:
    account = AccountFactory(email="root@example.com", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(account)
    return client


def _changelist_url(model: type) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m.__name__)
def test_it_renders_every_changelist_with_a_bounded_query_count(
    superuser_client: Client, org, model: type
) -> None:
    MessageFactory.create_batch(3, channel__organization=org)
    superuser_client.get(_changelist_url(model))  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as few:
        assert superuser_client.get(_changelist_url(model)).status_code == 200
    MessageFactory.create_batch(20, channel__organization=org)
    with CaptureQueriesContext(connection) as many:
        assert superuser_client.get(_changelist_url(model)).status_code == 200
    # list_select_related keeps the count independent of the number of rows
    assert len(many) == len(few)


def test_it_bans_users_from_the_admin_through_the_audited_service(
    superuser_client: Client, org
) -> None:
    member = MemberFactory(organization=org)
    response = superuser_client.post(
        _changelist_url(Member),
        {"action": "ban_globally", "_selected_action": [member.pk]},
        follow=True,
    )
    assert response.status_code == 200
    member.refresh_from_db()
    assert member.is_globally_banned()
    entry = AuditEntry.objects.get(action="user.ban", target_id=member.user_id)
    assert entry.actor_label == "root@example.com"


def test_it_soft_deletes_messages_from_the_admin_and_offers_no_hard_delete(
    superuser_client: Client, org
) -> None:
    message = MessageFactory(channel__organization=org)
    page = superuser_client.get(_changelist_url(Message))
    assert b"delete_selected" not in page.content
    superuser_client.post(
        _changelist_url(Message),
        {"action": "delete_messages", "_selected_action": [message.pk]},
        follow=True,
    )
    message.refresh_from_db()
    assert message.deleted_at is not None
    assert AuditEntry.objects.filter(action="message.delete").count() == 1
