"""Writes and reads of roles' rules: ``role_rules_set`` (PATCH), ``role_rules_reset``,
the role lookup by id or name and the effective rules."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership
from apps.core.errors import DomainError
from apps.members.models import Member, Role
from apps.organizations.models import Organization
from apps.permissions import services
from apps.permissions.models import Rule
from apps.permissions.registry import OPERATIONS, resource_parse
from apps.permissions.selectors import effective_rules, role_get, role_rules
from apps.permissions.services import can, role_rules_reset, role_rules_set
from tests.factories import ChannelFactory, RoleFactory
from tests.personas import make_member

pytestmark = pytest.mark.django_db


def rule(resource: str, operation: str, access: str) -> dict[str, str]:
    return {"resource": resource, "operation": operation, "access": access}


def rows(role: Role) -> list[tuple[str, str, str]]:
    return [(r.resource, r.operation, r.access) for r in role_rules(role=role)]


@pytest.fixture
def admin(org: Organization) -> Member:
    return make_member(org, role=Member.OrgRole.ADMIN, user_id="root")


@pytest.fixture
def role(org: Organization) -> Role:
    return RoleFactory(organization=org, role_id="quiet")


@pytest.fixture
def as_root(admin: Member) -> Actor:
    return Actor.for_member(admin)


# --- role_rules_set --------------------------------------------------------------------------


def test_it_upserts_rules_and_audits_before_and_after(
    org: Organization, role: Role, as_root: Actor
) -> None:
    channel = ChannelFactory(organization=org)
    role_rules_set(
        actor=as_root,
        role=role,
        rules=[
            rule("messaging:channel:*", "message.send", "deny"),
            rule(f"messaging:channel:{channel.pk}", "message.send", "allow"),
        ],
    )
    result = role_rules_set(
        actor=as_root,
        role=role,
        rules=[
            rule("messaging:channel:*", "message.send", "allow"),
            rule("messaging", "grant", "deny"),
        ],
    )
    assert [(r.resource, r.operation, r.access) for r in result] == rows(role)
    assert rows(role) == [
        ("messaging", "grant", "deny"),
        ("messaging:channel:*", "message.send", "allow"),
        (f"messaging:channel:{channel.pk}", "message.send", "allow"),
    ]
    entry = AuditEntry.objects.filter(action="role.rules.set").latest("pk")
    assert entry.actor_label == "member root" and entry.target_id == "quiet"
    assert entry.target_type == "role"
    assert entry.before == {"rules": [rule("messaging:channel:*", "message.send", "deny")]}
    assert entry.after == {
        "rules": [
            rule("messaging:channel:*", "message.send", "allow"),
            rule("messaging", "grant", "deny"),
        ]
    }


def test_inherit_removes_a_rule_and_leaves_the_others(
    org: Organization, role: Role, as_root: Actor
) -> None:
    role_rules_set(
        actor=as_root,
        role=role,
        rules=[
            rule("messaging:channel:*", "message.send", "deny"),
            rule("messaging:channel", "message.react", "deny"),
        ],
    )
    role_rules_set(
        actor=as_root,
        role=role,
        rules=[
            rule("messaging:channel:*", "message.send", "inherit"),
            rule("messaging", "access", "inherit"),  # no such rule: nothing to remove
        ],
    )
    assert rows(role) == [("messaging:channel", "message.react", "deny")]
    entry = AuditEntry.objects.filter(action="role.rules.set").latest("pk")
    assert entry.before == {"rules": [rule("messaging:channel:*", "message.send", "deny")]}
    assert entry.after == {"rules": []}


def test_a_later_entry_for_the_same_rule_wins(role: Role, as_root: Actor) -> None:
    role_rules_set(
        actor=as_root,
        role=role,
        rules=[
            rule("messaging:channel:*", "message.send", "deny"),
            rule("messaging:channel:*", "message.send", "allow"),
        ],
    )
    assert rows(role) == [("messaging:channel:*", "message.send", "allow")]


def test_a_channel_id_is_stored_in_its_canonical_form(
    org: Organization, role: Role, as_root: Actor
) -> None:
    channel = ChannelFactory(organization=org)
    role_rules_set(
        actor=as_root,
        role=role,
        rules=[rule(f"messaging:channel:000{channel.pk}", "message.send", "deny")],
    )
    assert rows(role) == [(f"messaging:channel:{channel.pk}", "message.send", "deny")]


def test_the_new_rules_take_effect_for_the_acting_member_at_once(
    org: Organization, as_root: Actor, admin: Member
) -> None:
    role = RoleFactory(organization=org, role_id="self")
    admin.roles = ["self"]
    assert can(admin, "message.send", "messaging:channel:1")  # rules now cached
    role_rules_set(
        actor=as_root, role=role, rules=[rule("messaging:channel:*", "message.send", "deny")]
    )
    assert not can(admin, "message.send", "messaging:channel:1")


BAD_RULES: list[tuple[Any, str, str]] = [
    (
        [rule("messaging:channels:*", "message.send", "deny")],
        "invalid_parameter",
        "rules[0].resource",
    ),
    ([rule("*", "message.send", "deny")], "invalid_parameter", "rules[0].resource"),
    (
        [rule("messaging:channel:abc", "message.send", "deny")],
        "invalid_parameter",
        "rules[0].resource",
    ),
    (
        [rule("messaging:channel:0", "message.send", "deny")],
        "invalid_parameter",
        "rules[0].resource",
    ),
    (
        [rule("messaging:channel:-1", "message.send", "deny")],
        "invalid_parameter",
        "rules[0].resource",
    ),
    (
        [rule("messaging:channel:9" * 20, "message.send", "deny")],
        "invalid_parameter",
        "rules[0].resource",
    ),
    (
        [rule("messaging:channel:¹", "message.send", "deny")],
        "invalid_parameter",
        "rules[0].resource",
    ),
    (
        [rule("messaging:channel:1:2", "message.send", "deny")],
        "invalid_parameter",
        "rules[0].resource",
    ),
    ([rule("messaging", "message.send", "deny")], "invalid_parameter", "rules[0].operation"),
    ([rule("messaging:channel:*", "grant", "deny")], "invalid_parameter", "rules[0].operation"),
    ([rule("messaging:channel:*", "fly", "deny")], "invalid_parameter", "rules[0].operation"),
    ([rule("messaging", "grant", "maybe")], "invalid_parameter", "rules[0].access"),
    ([rule("messaging", "grant", "")], "missing_parameter", "rules[0].access"),
    ([{"resource": "messaging", "operation": "grant"}], "missing_parameter", "rules[0].access"),
    (
        [{"resource": 1, "operation": "grant", "access": "allow"}],
        "invalid_parameter",
        "rules[0].resource",
    ),
    (["messaging"], "invalid_parameter", "rules[0]"),
    (
        [rule("messaging", "grant", "allow")] * (services.MAX_RULES_PER_REQUEST + 1),
        "invalid_parameter",
        "rules",
    ),
]


@pytest.mark.parametrize(("rules", "code", "field"), BAD_RULES)
def test_it_refuses_a_bad_rule_and_writes_nothing(
    role: Role, as_root: Actor, rules: Any, code: str, field: str
) -> None:
    good = rule("messaging", "access", "deny")
    with pytest.raises(DomainError) as refused:
        role_rules_set(
            actor=as_root, role=role, rules=[good, *rules] if field != "rules" else rules
        )
    expected_field = field.replace("rules[0]", "rules[1]") if field != "rules" else field
    assert (refused.value.code, refused.value.field) == (code, expected_field)
    assert not Rule.objects.exists()
    assert not AuditEntry.objects.filter(action="role.rules.set").exists()


def test_a_channel_of_another_organization_is_like_a_missing_one(
    org: Organization, other_org: Organization, role: Role, as_root: Actor
) -> None:
    theirs = ChannelFactory(organization=other_org)
    missing = Channel.objects.order_by("-pk").first().pk + 100
    refusals = []
    for pk in (theirs.pk, missing):
        with pytest.raises(DomainError) as refused:
            role_rules_set(
                actor=as_root,
                role=role,
                rules=[
                    rule("messaging:channel:*", "message.send", "deny"),
                    rule(f"messaging:channel:{pk}", "message.send", "deny"),
                ],
            )
        refusals.append((refused.value.code, refused.value.status, refused.value.field))
    assert refusals == [("channel_not_found", 404, "rules[1].resource")] * 2
    assert not Rule.objects.exists()


def test_inherit_may_name_a_channel_that_is_gone(
    org: Organization, role: Role, as_root: Actor
) -> None:
    channel = ChannelFactory(organization=org)
    role_rules_set(
        actor=as_root,
        role=role,
        rules=[rule(f"messaging:channel:{channel.pk}", "message.send", "deny")],
    )
    pk = channel.pk
    channel.delete()
    role_rules_set(
        actor=as_root, role=role, rules=[rule(f"messaging:channel:{pk}", "message.send", "inherit")]
    )
    assert rows(role) == []


def test_a_role_holds_a_bounded_number_of_rules(
    org: Organization, role: Role, as_root: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "MAX_RULES_PER_ROLE", 3)
    ops = [op.operation for op in OPERATIONS if op.resource == "messaging:channel"]
    role_rules_set(
        actor=as_root, role=role, rules=[rule("messaging:channel:*", op, "deny") for op in ops[:3]]
    )
    with pytest.raises(DomainError) as refused:
        role_rules_set(
            actor=as_root, role=role, rules=[rule("messaging:channel:*", ops[3], "deny")]
        )
    assert refused.value.code == "too_many_records" and refused.value.status == 409
    # replacing one within the bound is fine
    role_rules_set(
        actor=as_root,
        role=role,
        rules=[
            rule("messaging:channel:*", ops[0], "inherit"),
            rule("messaging:channel:*", ops[3], "deny"),
        ],
    )
    assert len(rows(role)) == 3


def test_it_needs_the_grant_operation(org: Organization, role: Role) -> None:
    plain = Actor.for_member(make_member(org))
    for call in (
        lambda: role_rules_set(actor=plain, role=role, rules=[rule("messaging", "grant", "allow")]),
        lambda: role_rules_reset(actor=plain, role=role),
    ):
        with pytest.raises(DomainError) as refused:
            call()
        assert refused.value.code == "forbidden"
    assert not Rule.objects.exists()


def test_a_member_given_grant_by_a_rule_may_change_rules(org: Organization, role: Role) -> None:
    granter = RoleFactory(organization=org, role_id="granter", permissions=["grant"])
    assert granter.pk
    member = make_member(org, roles=["granter"])
    role_rules_set(
        actor=Actor.for_member(member), role=role, rules=[rule("messaging", "grant", "allow")]
    )
    assert rows(role) == [("messaging", "grant", "allow")]


def test_a_member_of_another_organization_cannot_touch_a_role(
    org: Organization, other_org: Organization, role: Role
) -> None:
    stranger = Actor.for_member(make_member(other_org, role=Member.OrgRole.ADMIN))
    with pytest.raises(DomainError) as refused:
        role_rules_set(actor=stranger, role=role, rules=[rule("messaging", "grant", "allow")])
    assert refused.value.code == "role_not_found"


def test_the_system_may_set_rules(role: Role) -> None:
    role_rules_set(actor=Actor.system(), role=role, rules=[rule("messaging", "grant", "allow")])
    assert rows(role) == [("messaging", "grant", "allow")]


# --- role_rules_reset ------------------------------------------------------------------------


def test_reset_removes_every_rule_of_the_role_only(
    org: Organization, role: Role, as_root: Actor
) -> None:
    other = RoleFactory(organization=org, role_id="other", permissions=["grant"])
    for target in (role, other):
        role_rules_set(
            actor=as_root, role=target, rules=[rule("messaging:channel:*", "message.send", "deny")]
        )
    role.permissions = ["members.mute"]
    role.save(update_fields=["permissions"])
    assert role_rules_reset(actor=as_root, role=role) == 1
    assert rows(role) == [] and len(rows(other)) == 1
    role.refresh_from_db()
    assert role.permissions == ["members.mute"]  # the v2 permissions stay
    entry = AuditEntry.objects.get(action="role.rules.reset")
    assert entry.before == {"rules": [rule("messaging:channel:*", "message.send", "deny")]}
    assert entry.after == {"rules": []} and entry.target_id == "quiet"
    assert role_rules_reset(actor=as_root, role=role) == 0  # repeatable


# --- selectors -------------------------------------------------------------------------------


def test_a_role_is_found_by_numeric_id_or_by_name(org: Organization, role: Role) -> None:
    assert role_get(organization=org, role_ref=str(role.pk)) == role
    assert role_get(organization=org, role_ref="quiet") == role


def test_a_numeric_id_wins_over_a_role_named_with_the_same_digits(
    org: Organization, role: Role
) -> None:
    digits = RoleFactory(organization=org, role_id=str(role.pk))
    assert role_get(organization=org, role_ref=str(role.pk)) == role
    named = RoleFactory(organization=org, role_id="987654321")
    assert role_get(organization=org, role_ref="987654321") == named
    assert digits.pk != role.pk


@pytest.mark.parametrize(
    "ref", ["", "nope", "x" * 65, str(2**63), "0", "-1", "99999999999999999999999"]
)
def test_an_unknown_role_is_404(org: Organization, role: Role, ref: str) -> None:
    with pytest.raises(DomainError) as refused:
        role_get(organization=org, role_ref=ref)
    assert (refused.value.code, refused.value.field) == ("role_not_found", "roleID")


def test_another_organization_s_role_is_missing(org: Organization, other_org: Organization) -> None:
    theirs = RoleFactory(organization=other_org, role_id="theirs")
    for ref in (str(theirs.pk), "theirs"):
        with pytest.raises(DomainError) as refused:
            role_get(organization=org, role_ref=ref)
        assert refused.value.code == "role_not_found"


def test_the_role_lookup_is_one_query(org: Organization, role: Role) -> None:
    with CaptureQueriesContext(connection) as ctx:
        role_get(organization=org, role_ref=str(role.pk))
    assert len(ctx.captured_queries) == 1


def test_effective_rules_cover_every_operation(org: Organization) -> None:
    RoleFactory(organization=org, role_id="r", permissions=["grant"])
    member = make_member(org, role=Member.OrgRole.GUEST, roles=["r"])
    with CaptureQueriesContext(connection) as ctx:
        result = effective_rules(member=member)
    assert len(ctx.captured_queries) == 1  # the member's rules
    assert [(e["resource"].split(":*")[0], e["operation"]) for e in result] == [
        (op.resource, op.operation) for op in OPERATIONS
    ]
    decided = {e["operation"]: e["access"] for e in result}
    assert decided["grant"] == "allow"  # by the v2 permission
    assert decided["channel.public.create"] == "deny"  # a guest's default
    assert decided["message.send"] == "allow"


def test_effective_rules_of_a_concrete_channel_include_the_owner_defaults(
    org: Organization,
) -> None:
    member = make_member(org)
    channel = ChannelFactory(organization=org)
    Membership.objects.create(
        organization=org, channel=channel, member=member, joined_at=timezone.now(), is_owner=True
    )
    name = f"messaging:channel:{channel.pk}"
    result = effective_rules(member=member, resource=name)
    assert {e["resource"] for e in result} == {name}
    decided = {e["operation"]: e["access"] for e in result}
    assert decided["update"] == "allow" and decided["members.ban"] == "deny"
    general = {e["operation"]: e["access"] for e in effective_rules(member=member)}
    assert general["update"] == "deny"


@pytest.mark.parametrize("visibility", ["private", "group"])
def test_effective_rules_of_a_channel_the_member_cannot_see_are_404(
    org: Organization, other_org: Organization, visibility: str
) -> None:
    member = make_member(org)
    hidden = ChannelFactory(organization=org, visibility=visibility)
    theirs = ChannelFactory(organization=other_org, visibility="public")
    for pk in (hidden.pk, theirs.pk, theirs.pk + 1000):
        with pytest.raises(DomainError) as refused:
            effective_rules(member=member, resource=f"messaging:channel:{pk}")
        assert (refused.value.code, refused.value.field) == ("channel_not_found", "resource")
    public = ChannelFactory(organization=org, visibility="public")
    assert effective_rules(member=member, resource=f"messaging:channel:{public.pk}")


def test_effective_rules_of_a_resource_type(org: Organization) -> None:
    member = make_member(org)
    only_org = effective_rules(member=member, resource="messaging")
    assert {e["resource"] for e in only_org} == {"messaging"}
    assert len(only_org) == len([op for op in OPERATIONS if op.resource == "messaging"])
    for name in ("messaging:channel", "messaging:channel:*"):
        channels = effective_rules(member=member, resource=name)
        assert {e["resource"] for e in channels} == {name}
    with pytest.raises(DomainError) as refused:
        effective_rules(member=member, resource="messaging:user")
    assert refused.value.field == "resource"


def test_resource_names_parse_strictly() -> None:
    assert resource_parse("messaging:channel:42").channel_pk == 42
    assert resource_parse("messaging:channel:*").wildcard
    for bad in ("", "messaging:", "Messaging", "messaging:channel:4 2", "messaging:channel:*:1"):
        assert resource_parse(bad) is None
