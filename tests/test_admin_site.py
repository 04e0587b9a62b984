"""The Django admin: every registered model's list renders for a superuser, with a
bounded number of queries; the site is read-only (no add, change nor delete, for
superusers too, except the writes listed in ALLOWED_WRITES), and every write that
matters is an action that calls the audited service."""

from __future__ import annotations

import uuid
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin import ActionLocation
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.models import CharField, Model, TextField
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.audit.services import audit_record
from apps.calendar_events.models import CalendarEvent
from apps.channels.models import Channel, Membership
from apps.core.admin import EstimatedCountPaginator, ReadOnlyAdmin, table_row_estimate
from apps.events.models import Event, EventType
from apps.events.services import event_record
from apps.integrations.models import Delivery, Integration, IntegrationHistory
from apps.integrations.services.incoming import history_record
from apps.integrations.services.integrations import integration_create
from apps.members.models import Member, MemberSession, Role
from apps.members.services import member_session_issue
from apps.messages.models import Message, Reaction
from apps.moderation.models import BlacklistRecord, WhitelistRecord
from apps.organizations.models import AccessToken, Organization, StaffRole
from apps.organizations.services import organization_token_issue, personal_token_issue
from apps.presence.models import Status
from apps.reports.models import Report

from .factories import (
    AccountFactory,
    ChannelFactory,
    MemberFactory,
    MessageFactory,
    RoleFactory,
    StaffRoleFactory,
)


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
    assert entry.reason == "via the Django admin site"
    assert Event.objects.filter(type=EventType.USER_BANNED).count() == 1


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
    assert Event.objects.filter(type=EventType.MESSAGE_DELETED).count() == 1


# --- large tables: no full COUNT(*), no scanning filter, no select boxes ---------------

LARGE_TABLES = [
    "Message",
    "Reaction",
    "Membership",
    "Member",
    "AuditEntry",
    "Event",
    "Report",
    "Delivery",
]


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
        # Unfiltered on PostgreSQL, the planner's estimate stands in for the count once it
        # says the table is large: a long test session (rolled-back rows included) can
        # get it there (test_the_paginator_trusts_the_planner_... pins that case).
        estimate = table_row_estimate(Message.objects.all())
        if query_string or estimate is None or estimate < EstimatedCountPaginator.count_cap:
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


# --- read-only by default (issue 11: one way in for every write that matters) ----------

#: The only form writes (add, change, delete) the admin site offers to a superuser.
#: Ours opt in with ``ReadOnlyAdmin.allowed_writes``; Django's and django-axes' own
#: admins keep theirs (groups: Django's account management; axes: deleting an attempt is
#: how a locked-out login is reset). Anything else is refused, to superusers too.
ALLOWED_WRITES: dict[str, set[str]] = {
    "accounts.Account": {"add", "change"},  # Django's account management, never delete
    "organizations.Organization": {"change"},  # its settings, through the service only
    "auth.Group": {"add", "change", "delete"},
    "axes.AccessAttempt": {"change", "delete"},
    "axes.AccessLog": {"change", "delete"},
    "axes.AccessFailureLog": {"change", "delete"},
}
REGISTERED = list(admin.site._registry)
OURS = [m for m in REGISTERED if type(admin.site._registry[m]).__module__.startswith("apps.")]


def _label(model: type[Model]) -> str:
    return model._meta.label


def _url(model: type[Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def root(db: None) -> Account:
    return AccountFactory(email="root@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def scene(org: Organization, root: Account) -> dict[type[Model], Model]:
    """One row of each model that one of our admins shows."""
    now = timezone.now()
    owner = AccountFactory(email="owner@example.com")
    member = MemberFactory(organization=org)
    channel = ChannelFactory(organization=org)
    message = MessageFactory(channel=channel, author=member)
    actor = Actor(account=root)
    rows: dict[type[Model], Model] = {
        Account: owner,
        Organization: org,
        StaffRole: StaffRoleFactory(organization=org, account=owner, role=StaffRole.Role.OWNER),
        AccessToken: organization_token_issue(organization=org, actor=actor, name="ci").token,
        AuditEntry: audit_record(
            organization=org, actor=actor, action="test", target_type="t", target_id="1"
        ),
        Member: member,
        MemberSession: member_session_issue(actor=actor, member=member).session,
        Status: Status.objects.create(organization=org, member=member, message="away"),
        Role: RoleFactory(organization=org),
        Channel: channel,
        Membership: Membership.objects.create(
            organization=org, channel=channel, member=member, joined_at=now
        ),
        Message: message,
        Reaction: Reaction.objects.create(
            organization=org, message=message, member=member, name="like"
        ),
        BlacklistRecord: BlacklistRecord.objects.create(organization=org, pattern="bad"),
        WhitelistRecord: WhitelistRecord.objects.create(organization=org, pattern="ok.example"),
        Report: Report.objects.create(organization=org, target_member=member, reason="spam"),
        Event: event_record(organization=org, type=EventType.USER_CREATED, payload={}),
        CalendarEvent: CalendarEvent.objects.create(
            organization=org, title="Launch", starts_at=now, ends_at=now + timedelta(hours=1)
        ),
    }
    integration = integration_create(
        organization=org,
        actor=actor,
        flavor=Integration.Flavor.STACKFIELD,
        direction=Integration.Direction.INCOMING,
        kind=Integration.Kind.CHAT_MESSAGE,
        channel=channel,
        username="stackfield",
    ).integration
    rows[Integration] = integration
    rows[IntegrationHistory] = history_record(integration, step="incoming-posted")
    rows[Delivery] = Delivery.objects.create(
        organization=org,
        integration=integration,
        event_id=uuid.uuid4(),
        event="sendMessage",
        url="https://hooks.example.com/in",
        webhook_id="msg_admin_scene",
        payload={"text": "hello"},
    )
    assert set(rows) == set(OURS), "a new admin needs a row here"
    return rows


def _superuser_request(root: Account) -> Any:
    request = RequestFactory().get("/admin/")
    request.user = root
    return request


def _snapshot(model: type[Model]) -> list[dict[str, Any]]:
    return list(model._default_manager.order_by("pk").values())


def test_every_admin_of_ours_is_read_only_unless_it_opts_in(root: Account) -> None:
    request = _superuser_request(root)
    for model in OURS:
        model_admin = admin.site._registry[model]
        assert isinstance(model_admin, ReadOnlyAdmin), f"{_label(model)}: not a ReadOnlyAdmin"
        assert set(model_admin.allowed_writes) == ALLOWED_WRITES.get(_label(model), set())
        for inline in model_admin.get_inline_instances(request):
            assert not inline.has_add_permission(request, None)
            assert not inline.has_change_permission(request, None)
            assert not inline.has_delete_permission(request, None)


@pytest.mark.parametrize("model", REGISTERED, ids=_label)
def test_a_superuser_may_write_only_what_is_allowed(root: Account, model: type[Model]) -> None:
    model_admin = admin.site._registry[model]
    request = _superuser_request(root)
    allowed = ALLOWED_WRITES.get(_label(model), set())
    assert model_admin.has_add_permission(request) == ("add" in allowed)
    assert model_admin.has_change_permission(request) == ("change" in allowed)
    assert model_admin.has_delete_permission(request) == ("delete" in allowed)
    assert model_admin.has_view_permission(request)  # the site still reads everything
    for location in ActionLocation:  # Django offers "delete selected" on the list only
        actions = model_admin.get_actions(request, action_location=location)
        expected = "delete" in allowed and location is ActionLocation.CHANGE_LIST
        assert ("delete_selected" in actions) == expected, location


@pytest.mark.parametrize("model", OURS, ids=_label)
def test_posting_a_form_or_a_delete_is_refused_and_writes_nothing(
    superuser_client: Client, scene: dict[type[Model], Model], model: type[Model]
) -> None:
    allowed = ALLOWED_WRITES.get(_label(model), set())
    row = scene[model]
    changed = {
        f.name: "changed"
        for f in model._meta.concrete_fields
        if isinstance(f, CharField | TextField) and f.editable
    }
    before = _snapshot(model)

    assert superuser_client.get(_url(model, "change", row.pk)).status_code == 200  # readable
    if "add" not in allowed:
        assert superuser_client.get(_url(model, "add")).status_code == 403
        assert superuser_client.post(_url(model, "add"), changed).status_code == 403
    if "change" not in allowed:
        response = superuser_client.post(_url(model, "change", row.pk), {**changed, "_save": "1"})
        assert response.status_code == 403
    assert superuser_client.get(_url(model, "delete", row.pk)).status_code == 403
    assert superuser_client.post(_url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    superuser_client.post(
        _url(model, "changelist"),
        {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
    )
    assert _snapshot(model) == before


def test_the_change_view_shows_every_field_read_only(
    superuser_client: Client, scene: dict[type[Model], Model]
) -> None:
    page = superuser_client.get(_url(Channel, "change", scene[Channel].pk))
    adminform = page.context["adminform"]
    assert "display_name" in adminform.readonly_fields
    assert set(adminform.form.fields) <= set(adminform.readonly_fields)
    assert b'name="display_name"' not in page.content
    assert b'name="_save"' not in page.content
    assert b"Close the selected channels" in page.content  # the service action is offered


def test_the_organization_form_writes_its_settings_only_never_slug_nor_name(
    superuser_client: Client, org: Organization
) -> None:
    response = superuser_client.post(
        _url(Organization, "change", org.pk),
        {
            "slug": "hijacked",
            "name": "Hijacked",
            "filter_policy": "mask",
            "auto_hide_threshold": "",
            "staff-TOTAL_FORMS": "0",
            "staff-INITIAL_FORMS": "0",
            "staff-MIN_NUM_FORMS": "0",
            "staff-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.slug, org.name, org.filter_policy) == ("acme", "Acme", "mask")
    entry = AuditEntry.objects.get(action="organization.settings")
    assert entry.actor_label == "root@example.com"


def test_the_organization_staff_inline_cannot_add_nor_change_a_role(
    superuser_client: Client, org: Organization
) -> None:
    owner = StaffRoleFactory(organization=org, role=StaffRole.Role.OWNER)
    response = superuser_client.post(
        _url(Organization, "change", org.pk),
        {
            "filter_policy": org.filter_policy,
            "auto_hide_threshold": "",
            "staff-TOTAL_FORMS": "2",
            "staff-INITIAL_FORMS": "1",
            "staff-MIN_NUM_FORMS": "0",
            "staff-MAX_NUM_FORMS": "1000",
            "staff-0-id": str(owner.pk),
            "staff-0-organization": str(org.pk),
            "staff-0-role": "moderator",
            "staff-0-DELETE": "on",
            "staff-1-organization": str(org.pk),
            "staff-1-account": str(AccountFactory().pk),
            "staff-1-role": "owner",
        },
    )
    assert response.status_code == 302  # saved: the settings, and nothing of the inline
    assert list(StaffRole.objects.values_list("pk", "role")) == [(owner.pk, "owner")]


def test_an_account_is_never_deleted_here(superuser_client: Client, org: Organization) -> None:
    """Deleting an account would take its staff roles (the last owner) and tokens with
    it, unaudited: deactivate it instead (is_active), which Django's form still does."""
    owner = StaffRoleFactory(organization=org, role=StaffRole.Role.OWNER).account
    url = _url(Account, "delete", owner.pk)
    assert superuser_client.post(url, {"post": "yes"}).status_code == 403
    assert StaffRole.objects.filter(account=owner).exists()
    password = reverse("admin:auth_user_password_change", args=[owner.pk])
    assert superuser_client.get(password).status_code == 200


def test_actions_need_the_models_change_permission(org: Organization) -> None:
    """A staff account that may only view members sees no action and cannot post one."""
    viewer = AccountFactory(email="viewer@example.com", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_member"))
    member = MemberFactory(organization=org)
    client = Client()
    client.force_login(viewer)
    page = client.get(_changelist_url(Member))
    assert page.status_code == 200
    assert b"ban_globally" not in page.content
    client.post(
        _changelist_url(Member), {"action": "ban_globally", "_selected_action": [member.pk]}
    )
    member.refresh_from_db()
    assert not member.is_globally_banned()
    assert not AuditEntry.objects.exists()


# --- each action calls its audited service ----------------------------------------------


def _act(client: Client, model: type[Model], action: str, *rows: Model) -> Any:
    response = client.post(
        _changelist_url(model),
        {"action": action, "_selected_action": [row.pk for row in rows]},
        follow=True,
    )
    assert response.status_code == 200
    return response


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_it_lifts_global_bans_through_the_audited_service(
    superuser_client: Client, org: Organization
) -> None:
    member = MemberFactory(organization=org, banned_at=timezone.now())
    _act(superuser_client, Member, "unban_globally", member)
    member.refresh_from_db()
    assert not member.is_globally_banned()
    assert AuditEntry.objects.get(action="user.unban").actor_label == "root@example.com"
    assert Event.objects.filter(type=EventType.USER_UNBANNED).count() == 1


def test_it_dismisses_a_users_open_reports_through_the_audited_service(
    superuser_client: Client, org: Organization
) -> None:
    member = MemberFactory(organization=org)
    report = Report.objects.create(organization=org, target_member=member)
    _act(superuser_client, Member, "dismiss_reports", member)
    report.refresh_from_db()
    assert report.state == Report.State.DISMISSED
    assert report.resolved_by_label == "root@example.com"
    entry = AuditEntry.objects.get(action="user.flags.clear")
    assert entry.after["cleared"] == 1


@pytest.mark.parametrize(
    ("action", "state"), [("dismiss_reports", "dismissed"), ("mark_actioned", "actioned")]
)
def test_it_resolves_reports_through_the_audited_service(
    superuser_client: Client, org: Organization, action: str, state: str
) -> None:
    report = Report.objects.create(organization=org, target_member=MemberFactory(organization=org))
    _act(superuser_client, Report, action, report)
    report.refresh_from_db()
    assert (report.state, report.resolved_by_label) == (state, "root@example.com")
    entry = AuditEntry.objects.get(action="report.resolve", target_id=str(report.pk))
    assert entry.after["state"] == state
    assert entry.reason == "via the Django admin site"


def test_it_closes_channels_through_the_two_phase_audited_service(
    superuser_client: Client, org: Organization
) -> None:
    channel = ChannelFactory(organization=org, member_count=1, message_count=1)
    member = MemberFactory(organization=org)
    Membership.objects.create(
        organization=org, channel=channel, member=member, joined_at=timezone.now()
    )
    MessageFactory(channel=channel, author=member)
    response = _act(superuser_client, Channel, "close_channels", channel)
    channel.refresh_from_db()
    assert channel.closed_at is not None and channel.message_count == 0
    assert not Membership.objects.filter(channel=channel, joined_at__isnull=False).exists()
    assert Message.objects.filter(channel=channel).count() == 1  # the purge task deletes it
    entry = AuditEntry.objects.get(action="channel.close", target_id=channel.channel_id)
    assert entry.after["membersRemoved"] == 1 and entry.after["messagesRemoved"] == 1
    assert Event.objects.filter(type=EventType.CHANNEL_CLOSED).count() == 1
    assert any("Closed 1 channel" in m for m in _messages(response))
    # closing it again is refused by the service, and the admin says so
    response = _act(superuser_client, Channel, "close_channels", channel)
    assert any("already closed" in m for m in _messages(response))
    assert AuditEntry.objects.filter(action="channel.close").count() == 1


def test_it_closes_a_channel_from_its_own_page(superuser_client: Client, org: Organization) -> None:
    channel = ChannelFactory(organization=org)
    superuser_client.post(
        _url(Channel, "change", channel.pk),
        {"CHANGE_FORM-action": "close_channels", "_selected_action": [channel.pk]},
    )
    channel.refresh_from_db()
    assert channel.closed_at is not None
    assert AuditEntry.objects.filter(action="channel.close").count() == 1


def test_it_removes_users_from_channels_through_the_audited_service(
    superuser_client: Client, org: Organization
) -> None:
    channel = ChannelFactory(organization=org, member_count=2)
    ada, bob = MemberFactory.create_batch(2, organization=org)
    rows = [
        Membership.objects.create(
            organization=org, channel=channel, member=m, joined_at=timezone.now()
        )
        for m in (ada, bob)
    ]
    _act(superuser_client, Membership, "remove_from_channel", *rows)
    assert not Membership.objects.filter(channel=channel, joined_at__isnull=False).exists()
    channel.refresh_from_db()
    assert channel.member_count == 0
    entry = AuditEntry.objects.get(action="channel.users.remove")
    assert entry.after["userIds"] == sorted([ada.user_id, bob.user_id])
    assert Event.objects.filter(type=EventType.MEMBER_LEFT).count() == 1


def test_it_lifts_channel_bans_through_the_audited_service(
    superuser_client: Client, org: Organization
) -> None:
    channel = ChannelFactory(organization=org)
    member = MemberFactory(organization=org)
    row = Membership.objects.create(
        organization=org, channel=channel, member=member, banned_at=timezone.now()
    )
    _act(superuser_client, Membership, "unban_in_channel", row)
    row.refresh_from_db()
    assert row.banned_at is None
    assert AuditEntry.objects.get(action="channel.users.unban").before == {
        "banned": [member.user_id]
    }
    assert Event.objects.filter(type=EventType.MEMBER_UNBANNED).count() == 1


@pytest.mark.parametrize("action", ["make_owner", "make_admin", "make_moderator"])
def test_it_changes_staff_roles_through_the_audited_service(
    superuser_client: Client, org: Organization, action: str
) -> None:
    StaffRoleFactory(organization=org, role=StaffRole.Role.OWNER)  # never the last owner
    staff = StaffRoleFactory(
        organization=org,
        role=StaffRole.Role.MODERATOR if action != "make_moderator" else StaffRole.Role.ADMIN,
    )
    _act(superuser_client, StaffRole, action, staff)
    staff.refresh_from_db()
    assert staff.role == action.removeprefix("make_")
    entry = AuditEntry.objects.get(action="staff.role", target_id=staff.account.email)
    assert entry.after == {"role": staff.role}
    assert entry.actor_label == "root@example.com"


def test_it_never_demotes_nor_removes_the_last_owner(
    superuser_client: Client, org: Organization
) -> None:
    owner = StaffRoleFactory(organization=org, role=StaffRole.Role.OWNER)
    for action in ("make_moderator", "remove_from_staff"):
        response = _act(superuser_client, StaffRole, action, owner)
        assert any("last owner" in m for m in _messages(response)), action
    owner.refresh_from_db()
    assert owner.role == StaffRole.Role.OWNER
    assert not AuditEntry.objects.exists()


def test_it_removes_staff_through_the_audited_service(
    superuser_client: Client, org: Organization
) -> None:
    StaffRoleFactory(organization=org, role=StaffRole.Role.OWNER)
    staff = StaffRoleFactory(organization=org, role=StaffRole.Role.ADMIN)
    _act(superuser_client, StaffRole, "remove_from_staff", staff)
    assert not StaffRole.objects.filter(pk=staff.pk).exists()
    assert AuditEntry.objects.get(action="staff.remove").before == {"role": "admin"}


def test_it_revokes_tokens_through_the_services(
    superuser_client: Client, org: Organization, root: Account
) -> None:
    holder = AccountFactory(email="holder@example.com")
    org_token = organization_token_issue(
        organization=org, actor=Actor(account=holder), name="ci"
    ).token
    personal = personal_token_issue(account=holder, name="laptop").token
    _act(superuser_client, AccessToken, "revoke_tokens", org_token, personal)
    org_token.refresh_from_db()
    personal.refresh_from_db()
    assert org_token.revoked_at is not None and personal.revoked_at is not None
    entry = AuditEntry.objects.get(action="token.revoke")
    assert (entry.target_id, entry.actor_label) == (str(org_token.pk), "root@example.com")
