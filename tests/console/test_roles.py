"""The roles page: the organization's roles with their effective permissions (the
messaging API's own resolution, apps.permissions.services.can) and the form that edits a
role's rules (owners and admins; moderators read; other organizations 404)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.members.models import Role
from apps.members.services import roles_upsert
from apps.organizations.models import Organization
from apps.permissions.models import Rule
from apps.permissions.registry import ANY_CHANNEL, MESSAGING
from apps.permissions.selectors import effective_rules
from apps.permissions.services import role_rules_set
from tests.factories import ChannelFactory
from tests.personas import make_member

pytestmark = pytest.mark.django_db


def url(name: str, org: Organization, *args: object) -> str:
    return reverse(f"console:{name}", args=[org.slug, *args])


def make_role(org: Organization, name: str = "helpers", permissions: list[str] | None = None):
    (role,) = roles_upsert(
        organization=org, actor=Actor.system(), role_ids=[name], permissions=permissions or []
    )
    return role


def set_rules(role: Role, *rules: tuple[str, str, str]) -> None:
    role_rules_set(
        actor=Actor.system(),
        role=role,
        rules=[{"resource": r, "operation": o, "access": a} for r, o, a in rules],
    )


def field(resource: str, operation: str) -> str:
    return f"access|{resource}|{operation}"


def matrix_row(response, operation: str):
    return next(p for p, _s, _o in response.context["matrix"] if p.operation.operation == operation)


# --- Reading -------------------------------------------------------------------------------


def test_the_list_shows_each_roles_own_allows_and_denies(moderator_client: Client, org) -> None:
    role = make_role(org, "helpers", permissions=["message.pin"])
    set_rules(role, (ANY_CHANNEL, "message.delete.all", "allow"), (MESSAGING, "grant", "deny"))
    make_role(org, "plain")
    response = moderator_client.get(url("roles", org))
    assert response.status_code == 200
    rows = {r.role_id: (a, d) for r, a, d in response.context["rows"]}
    allows, denies = rows["helpers"]
    assert [p.operation.operation for p in allows] == ["message.pin", "message.delete.all"]
    assert [p.operation.operation for p in denies] == ["grant"]
    assert rows["plain"] == ([], [])
    body = response.content.decode()
    assert "helpers" in body and "Roles &amp; permissions" in body


def test_the_list_costs_the_same_queries_for_1_and_20_roles(moderator_client: Client, org) -> None:
    set_rules(make_role(org, "r-00"), (MESSAGING, "grant", "allow"))
    moderator_client.get(url("roles", org))
    with CaptureQueriesContext(connection) as one:
        moderator_client.get(url("roles", org))
    for i in range(1, 20):
        set_rules(make_role(org, f"r-{i:02}"), (ANY_CHANNEL, "read", "deny"))
    with CaptureQueriesContext(connection) as many:
        response = moderator_client.get(url("roles", org))
    assert len(response.context["rows"]) == 20
    # the session, the account, the organizations, the page of roles, their rules
    assert len(many) == len(one)


def test_the_effective_permissions_are_what_the_messaging_api_answers(
    moderator_client: Client, org
) -> None:
    """Each organization-role column equals GET /permissions/effective (the service behind
    it) for a real member holding the role alone with that organization role."""
    role = make_role(org, "helpers", permissions=["members.mute"])
    set_rules(
        role,
        (ANY_CHANNEL, "message.send", "deny"),
        (MESSAGING, "grant", "allow"),
        ("messaging:channel", "members.mute", "deny"),  # deny beats the v2 permission
    )
    response = moderator_client.get(url("role", org, role.pk))
    assert response.status_code == 200
    shown = {
        (p.resource, p.operation.operation): p.allowed
        for p, _select, _own in response.context["matrix"]
    }
    for org_role in ("admin", "member", "guest", "external"):
        member = make_member(org, role=org_role, roles=["helpers"])
        for entry in effective_rules(member=member):
            allowed = shown[(entry["resource"], entry["operation"])][org_role]
            assert allowed == (entry["access"] == "allow"), (org_role, entry)
    assert shown[(MESSAGING, "grant")]["guest"] is True
    assert shown[(ANY_CHANNEL, "message.send")]["admin"] is False
    assert shown[(ANY_CHANNEL, "members.mute")]["admin"] is False


def test_a_moderator_reads_the_role_without_a_form(moderator_client: Client, org) -> None:
    role = make_role(org)
    set_rules(role, (MESSAGING, "grant", "deny"))
    response = moderator_client.get(url("role", org, role.pk))
    assert response.status_code == 200
    assert response.context["form"] is None
    body = response.content.decode()
    assert url("role_rules", org, role.pk) not in body
    assert url("role_reset", org, role.pk) not in body
    assert 'class="tag tag-deny">deny<' in body


def test_an_admin_gets_the_form_with_the_current_rules(admin_client_: Client, org) -> None:
    role = make_role(org)
    set_rules(role, (MESSAGING, "grant", "deny"))
    response = admin_client_.get(url("role", org, role.pk))
    form = response.context["form"]
    assert form[field(MESSAGING, "grant")].initial == "deny"
    assert form[field(ANY_CHANNEL, "read")].initial == "inherit"
    assert url("role_rules", org, role.pk) in response.content.decode()


def test_role_names_are_escaped(moderator_client: Client, org) -> None:
    make_role(org, "<b>x</b>")
    body = moderator_client.get(url("roles", org)).content.decode()
    assert "<b>x</b>" not in body and "&lt;b&gt;x&lt;/b&gt;" in body


# --- Editing -------------------------------------------------------------------------------


def test_an_admin_changes_rules_audited_with_only_the_changed_ones(
    admin_client_: Client, org_admin, org
) -> None:
    role = make_role(org)
    set_rules(role, (MESSAGING, "grant", "deny"), (ANY_CHANNEL, "join", "allow"))
    response = admin_client_.post(
        url("role_rules", org, role.pk),
        {
            field(MESSAGING, "grant"): "inherit",  # removed
            field(ANY_CHANNEL, "join"): "allow",  # unchanged
            field(ANY_CHANNEL, "message.send"): "deny",  # new
        },
    )
    assert response.status_code == 302
    rules = {(r.resource, r.operation): r.access for r in Rule.objects.filter(role=role)}
    assert rules == {(ANY_CHANNEL, "join"): "allow", (ANY_CHANNEL, "message.send"): "deny"}
    entry = AuditEntry.objects.filter(action="role.rules.set").latest("pk")
    assert entry.actor_account == org_admin
    assert entry.target_type == "role" and entry.target_id == "helpers"
    assert entry.before == {
        "rules": [{"resource": MESSAGING, "operation": "grant", "access": "deny"}]
    }
    assert entry.after == {
        "rules": [{"resource": ANY_CHANNEL, "operation": "message.send", "access": "deny"}]
    }


def test_a_rule_for_one_channel_is_added_by_its_channel_id(
    admin_client_: Client, org, other_org
) -> None:
    role = make_role(org)
    channel = ChannelFactory(organization=org, channel_id="general")
    response = admin_client_.post(
        url("role_rules", org, role.pk),
        {"new_channel": "general", "new_operation": "message.pin", "new_access": "allow"},
    )
    assert response.status_code == 302
    (rule,) = Rule.objects.filter(role=role)
    assert (rule.resource, rule.operation, rule.access) == (
        f"messaging:channel:{channel.pk}",
        "message.pin",
        "allow",
    )
    page = admin_client_.get(url("role", org, role.pk))
    ((shown, select, channel_id),) = page.context["others"]
    assert shown == rule and channel_id == "general" and select.initial == "allow"
    # and it is changed or removed from the same form
    admin_client_.post(
        url("role_rules", org, role.pk), {field(rule.resource, "message.pin"): "inherit"}
    )
    assert not Rule.objects.filter(role=role).exists()


def test_another_organizations_channel_is_refused_like_a_missing_one(
    admin_client_: Client, org, other_org
) -> None:
    role = make_role(org)
    ChannelFactory(organization=other_org, channel_id="secret")
    for channel_id in ("secret", "nope"):
        response = admin_client_.post(
            url("role_rules", org, role.pk),
            {"new_channel": channel_id, "new_operation": "read", "new_access": "deny"},
        )
        assert response.status_code == 400
        assert "No channel with channelId" in str(response.context["form"].errors["new_channel"])
    assert not Rule.objects.filter(role=role).exists()


def test_a_new_channel_rule_needs_its_operation(admin_client_: Client, org) -> None:
    role = make_role(org)
    ChannelFactory(organization=org, channel_id="general")
    response = admin_client_.post(url("role_rules", org, role.pk), {"new_channel": "general"})
    assert response.status_code == 400
    assert "new_operation" in response.context["form"].errors


def test_saving_nothing_changes_nothing(admin_client_: Client, org) -> None:
    role = make_role(org)
    before = AuditEntry.objects.count()
    response = admin_client_.post(url("role_rules", org, role.pk), {})
    assert response.status_code == 302
    assert AuditEntry.objects.count() == before


def test_reset_removes_every_rule_audited_and_asks_first(owner_client: Client, owner, org) -> None:
    role = make_role(org, permissions=["grant"])
    set_rules(role, (MESSAGING, "grant", "deny"), (ANY_CHANNEL, "read", "deny"))
    page = owner_client.get(url("role", org, role.pk)).content.decode()
    assert "data-confirm=" in page.split(url("role_reset", org, role.pk))[1][:200]
    refused = owner_client.post(url("role_reset", org, role.pk))  # without the button's field
    assert refused.status_code == 400 and Rule.objects.filter(role=role).count() == 2
    response = owner_client.post(url("role_reset", org, role.pk), {"confirm": "helpers"})
    assert response.status_code == 302
    assert not Rule.objects.filter(role=role).exists()
    role.refresh_from_db()
    assert role.permissions == ["grant"]
    entry = AuditEntry.objects.get(action="role.rules.reset")
    assert entry.actor_account == owner and len(entry.before["rules"]) == 2


# --- Who may -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "read", "write"),
    [
        ("owner_client", 200, 302),
        ("admin_client_", 200, 302),
        ("superuser_client", 200, 302),
        ("moderator_client", 200, 403),
        ("outsider_client", 404, 404),
    ],
)
def test_who_may_read_and_change_rules(
    request: pytest.FixtureRequest, persona: str, read: int, write: int, org
) -> None:
    client: Client = request.getfixturevalue(persona)
    role = make_role(org)
    assert client.get(url("roles", org)).status_code == read
    assert client.get(url("role", org, role.pk)).status_code == read
    changed = client.post(url("role_rules", org, role.pk), {field(MESSAGING, "grant"): "deny"})
    assert changed.status_code == write
    reset = client.post(url("role_reset", org, role.pk), {"confirm": role.role_id})
    assert reset.status_code == write
    if write == 302:
        assert AuditEntry.objects.filter(action="role.rules.set").count() == 1
    else:
        assert not Rule.objects.filter(role=role).exists()
        assert not AuditEntry.objects.filter(action__startswith="role.rules").exists()


def test_another_organizations_role_id_is_a_404(admin_client_: Client, org, other_org) -> None:
    theirs = make_role(other_org, "theirs")
    set_rules(theirs, (MESSAGING, "grant", "deny"))
    assert admin_client_.get(url("role", org, theirs.pk)).status_code == 404
    assert admin_client_.post(url("role_rules", org, theirs.pk)).status_code == 404
    reset = admin_client_.post(url("role_reset", org, theirs.pk), {"confirm": "theirs"})
    assert reset.status_code == 404
    assert Rule.objects.filter(role=theirs).count() == 1


def test_the_writes_are_post_only(admin_client_: Client, org) -> None:
    role = make_role(org)
    assert admin_client_.get(url("role_rules", org, role.pk)).status_code == 405
    assert admin_client_.get(url("role_reset", org, role.pk)).status_code == 405
