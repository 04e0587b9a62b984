"""The Django admin: every registered model's list renders for a superuser, with a
bounded number of queries, and moderation actions go through the audited services."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.models import AuditEntry
from apps.core.admin import EstimatedCountPaginator
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


# --- large tables: no full COUNT(*), no scanning filter, no select boxes ---------------

LARGE_TABLES = ["Message", "Reaction", "Membership", "Member", "AuditEntry", "Event", "Report"]


def _admin_of(name: str) -> admin.ModelAdmin:
    return next(ma for model, ma in admin.site._registry.items() if model.__name__ == name)


@pytest.mark.parametrize("name", LARGE_TABLES)
def test_large_tables_never_count_the_whole_table_nor_scan_for_filters(name: str) -> None:
    model_admin = _admin_of(name)
    assert model_admin.paginator is EstimatedCountPaginator
    assert model_admin.show_full_result_count is False
    for entry in model_admin.list_filter:
        field_name = entry if isinstance(entry, str) else None
        if field_name:  # a choices field lists its choices; a relation would SELECT DISTINCT
            field = model_admin.model._meta.get_field(field_name)
            assert not field.is_relation, f"{name}.list_filter on {field_name} scans the table"
            assert field.choices, f"{name}.list_filter on {field_name} would SELECT DISTINCT"
    shown = {
        f.name
        for f in model_admin.model._meta.get_fields()
        if f.name in model_admin.list_display and f.many_to_one
    }
    assert shown <= set(model_admin.list_select_related), f"{name}: N+1 on {shown}"


@pytest.mark.parametrize("name", LARGE_TABLES)
def test_large_tables_offer_no_select_box_of_another_large_table(name: str) -> None:
    model_admin = _admin_of(name)
    superuser = SimpleNamespace(user=SimpleNamespace(has_perm=lambda perm: True))
    if not model_admin.has_change_permission(superuser):  # type: ignore[arg-type]
        return  # read-only: no form, no widgets
    widgets = set(model_admin.raw_id_fields) | set(model_admin.autocomplete_fields)
    for field in model_admin.model._meta.concrete_fields:
        if field.many_to_one and field.editable and field.name not in model_admin.readonly_fields:
            assert field.name in widgets, f"{name}.{field.name} would render a <select>"


def test_the_message_changelist_counts_with_a_limit_only(superuser_client: Client, org) -> None:
    MessageFactory.create_batch(3, channel__organization=org)
    for query_string in ("", "?q=" + "00000000-0000-0000-0000-000000000000", "?type__exact=text"):
        with CaptureQueriesContext(connection) as queries:
            response = superuser_client.get(_changelist_url(Message) + query_string)
        assert response.status_code == 200
        counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
        assert counts, "the capped count runs on SQLite (and for filtered lists)"
        assert all("LIMIT" in sql.upper() for sql in counts), counts


def test_the_paginator_caps_its_count(org) -> None:
    MessageFactory.create_batch(7, channel__organization=org)

    class Small(EstimatedCountPaginator):
        count_cap = 5

    # filtered, so never the planner's estimate (which may be stale from other tests)
    assert Small(Message.objects.filter(pk__gt=0).order_by("pk"), 2).count == 5
    assert Small(Message.objects.filter(pk__lt=0).order_by("pk"), 2).count == 0
    assert EstimatedCountPaginator(Message.objects.filter(pk__gt=0).order_by("pk"), 2).count == 7
    assert EstimatedCountPaginator([1, 2, 3], 2).count == 3


def test_the_paginator_trusts_the_planner_for_a_whole_large_table_on_postgresql(org) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("pg_class.reltuples is PostgreSQL's")
    MessageFactory.create_batch(7, channel__organization=org)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(Message._meta.db_table)}")

    class Small(EstimatedCountPaginator):
        count_cap = 5

    with CaptureQueriesContext(connection) as queries:
        assert Small(Message.objects.order_by("pk"), 2).count == 7  # ANALYZE saw all 7 rows
    assert "reltuples" in queries[0]["sql"]
    assert not any("COUNT(" in q["sql"].upper() for q in queries)
    # filtered: a capped count, never the estimate of the whole table
    assert Small(Message.objects.filter(type="text").order_by("pk"), 2).count == 5


def test_the_message_search_finds_one_id_through_the_unique_index(
    superuser_client: Client, org
) -> None:
    wanted, _other = MessageFactory.create_batch(2, channel__organization=org)
    url = _changelist_url(Message)
    for term in (str(wanted.public_id), str(wanted.public_id).upper(), str(wanted.pk)):
        page = superuser_client.get(url, {"q": term})
        assert list(page.context["cl"].result_list) == [wanted], term
    with CaptureQueriesContext(connection) as queries:
        page = superuser_client.get(url, {"q": "not an id"})
    assert list(page.context["cl"].result_list) == []
    assert not any("UPPER(" in q["sql"] for q in queries)  # never a cast-and-scan


def test_the_member_search_is_an_exact_id_or_a_name_prefix_without_a_scan_of_upper(
    superuser_client: Client, org
) -> None:
    ada = MemberFactory(organization=org, user_id="ada-1", display_name="Ada Lovelace")
    MemberFactory(organization=org, user_id="bob-1", display_name="Bob Ada")
    url = _changelist_url(Member)
    for term in ("ada-1", "Ada", "Ada Love"):
        with CaptureQueriesContext(connection) as queries:
            page = superuser_client.get(url, {"q": term})
        assert list(page.context["cl"].result_list) == [ada], term
        assert not any("UPPER(" in q["sql"] for q in queries)
    assert b"case matters" in page.content  # the help text says how it searches
    if connection.vendor == "postgresql":  # SQLite's LIKE ignores the case of ASCII
        assert list(superuser_client.get(url, {"q": "ada"}).context["cl"].result_list) == []
