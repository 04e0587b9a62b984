"""``can(member, operation, resource)``: the one permission check of the product."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.channels.models import Channel, Membership
from apps.core.errors import DomainError
from apps.members.models import Member, Role
from apps.organizations.models import Organization
from apps.permissions.models import Rule
from apps.permissions.registry import CHANNEL, MESSAGING, OPERATIONS, ORG_ROLES
from apps.permissions.services import (
    can,
    channel_decider,
    channel_resource,
    check,
    forget_rules,
)
from tests.factories import ChannelFactory, RoleFactory
from tests.personas import make_member

pytestmark = pytest.mark.django_db


def _own(channel: Channel, member: Member) -> Membership:
    return Membership.objects.create(
        organization=channel.organization,
        channel=channel,
        member=member,
        joined_at=timezone.now(),
        is_owner=True,
    )


def _rule(role: Role, resource: str, operation: str, access: str) -> Rule:
    return Rule.objects.create(
        organization=role.organization,
        role=role,
        resource=resource,
        operation=operation,
        access=access,
    )


@pytest.mark.parametrize("org_role", ORG_ROLES)
def test_the_defaults_follow_the_organization_role(org: Organization, org_role: str) -> None:
    member = make_member(org, role=org_role)
    channel = ChannelFactory(organization=org)
    for op in OPERATIONS:
        resource = MESSAGING if op.resource == MESSAGING else channel
        assert can(member, op.operation, resource) is (org_role in op.roles), op.operation


def test_the_defaults_are_what_the_docs_say_for_each_role(org: Organization) -> None:
    guest = make_member(org, role=Member.OrgRole.GUEST)
    external = make_member(org, role=Member.OrgRole.EXTERNAL)
    plain = make_member(org)
    admin = make_member(org, role=Member.OrgRole.ADMIN)
    assert can(admin, "grant") and not can(plain, "grant")
    assert can(plain, "channel.public.create") and not can(guest, "channel.public.create")
    assert can(guest, "channel.group.create") and not can(external, "channel.group.create")
    assert can(external, "message.send", "messaging:channel:1")
    assert not can(external, "join", "messaging:channel:1")


@pytest.mark.parametrize("org_role", [Member.OrgRole.GUEST, Member.OrgRole.EXTERNAL])
def test_a_channel_owner_gets_the_owner_defaults_on_that_channel_only(
    org: Organization, org_role: str
) -> None:
    owner = make_member(org, role=org_role)
    mine, theirs = ChannelFactory(organization=org), ChannelFactory(organization=org)
    _own(mine, owner)
    for op in (op for op in OPERATIONS if op.resource == CHANNEL):
        expected = op.owner or org_role in op.roles
        assert can(owner, op.operation, mine) is expected, op.operation
        assert can(owner, op.operation, channel_resource(mine)) is expected, op.operation
        assert can(owner, op.operation, theirs) is (org_role in op.roles), op.operation


def test_an_owner_that_left_or_was_only_invited_gets_no_owner_defaults(
    org: Organization,
) -> None:
    member = make_member(org)
    channel = ChannelFactory(organization=org)
    Membership.objects.create(
        organization=org, channel=channel, member=member, is_owner=True, joined_at=None
    )
    assert not can(member, "update", channel)


def test_a_list_s_preloaded_ownership_is_used_without_a_query(org: Organization) -> None:
    member = make_member(org)
    channel = ChannelFactory(organization=org)
    channel.viewer_is_owner = True
    with CaptureQueriesContext(connection) as ctx:
        assert can(member, "update", channel)
    assert len(ctx.captured_queries) == 0  # no roles: no rule query; ownership preloaded


def test_a_rule_beats_the_default_both_ways(org: Organization) -> None:
    role = RoleFactory(organization=org, role_id="quiet")
    _rule(role, "messaging:channel:*", "message.send", Rule.Access.DENY)
    _rule(role, "messaging:channel:*", "message.update.all", Rule.Access.ALLOW)
    member = make_member(org, roles=["quiet"])
    assert not can(member, "message.send", "messaging:channel:7")
    assert can(member, "message.update.all", "messaging:channel:7")


def test_deny_beats_allow_across_two_roles(org: Organization) -> None:
    allow = RoleFactory(organization=org, role_id="helper")
    deny = RoleFactory(organization=org, role_id="probation")
    _rule(allow, "messaging:channel:*", "members.mute", Rule.Access.ALLOW)
    _rule(deny, "messaging:channel:*", "members.mute", Rule.Access.DENY)
    both = make_member(org, roles=["helper", "probation"])
    helper = make_member(org, roles=["helper"])
    assert not can(both, "members.mute", "messaging:channel:3")
    assert can(helper, "members.mute", "messaging:channel:3")


def test_deny_beats_allow_even_when_the_allow_is_more_specific(org: Organization) -> None:
    role = RoleFactory(organization=org, role_id="r")
    _rule(role, "messaging:channel:*", "message.send", Rule.Access.DENY)
    _rule(role, "messaging:channel:5", "message.send", Rule.Access.ALLOW)
    assert not can(make_member(org, roles=["r"]), "message.send", "messaging:channel:5")


def test_a_specific_rule_covers_its_channel_only_and_a_wildcard_covers_all(
    org: Organization,
) -> None:
    role = RoleFactory(organization=org, role_id="r")
    _rule(role, "messaging:channel:5", "message.send", Rule.Access.DENY)
    member = make_member(org, roles=["r"])
    assert not can(member, "message.send", "messaging:channel:5")
    assert can(member, "message.send", "messaging:channel:50")
    assert can(member, "message.send", "messaging:channel:55")

    wide = RoleFactory(organization=org, role_id="wide")
    _rule(wide, "messaging:channel", "message.send", Rule.Access.DENY)
    other = make_member(org, roles=["wide"])
    assert not can(other, "message.send", "messaging:channel:50")
    assert not can(other, "message.send", "messaging:channel:*")


def test_a_rule_on_another_operation_or_resource_type_does_not_apply(org: Organization) -> None:
    role = RoleFactory(organization=org, role_id="r")
    _rule(role, "messaging:channel:*", "message.react", Rule.Access.DENY)
    _rule(role, "messaging", "grant", Rule.Access.ALLOW)
    member = make_member(org, roles=["r"])
    assert can(member, "message.send", "messaging:channel:1")
    assert can(member, "grant", MESSAGING)
    assert not can(member, "message.react", "messaging:channel:1")


def test_a_v2_role_s_permissions_are_allow_rules_on_every_resource(org: Organization) -> None:
    RoleFactory(organization=org, role_id="mod", permissions=["members.mute", "grant", "nope"])
    guest = make_member(org, role=Member.OrgRole.GUEST, roles=["mod"])
    assert can(guest, "members.mute", "messaging:channel:9")
    assert can(guest, "members.mute", ChannelFactory(organization=org))
    assert can(guest, "grant", MESSAGING)
    assert not can(guest, "members.ban", "messaging:channel:9")


def test_a_deny_rule_beats_a_v2_permission(org: Organization) -> None:
    RoleFactory(organization=org, role_id="mod", permissions=["members.mute"])
    _rule(
        RoleFactory(organization=org, role_id="not-here"),
        "messaging:channel:9",
        "members.mute",
        Rule.Access.DENY,
    )
    member = make_member(org, roles=["mod", "not-here"])
    assert not can(member, "members.mute", "messaging:channel:9")
    assert can(member, "members.mute", "messaging:channel:10")


def test_roles_of_another_organization_with_the_same_name_do_not_count(
    org: Organization, other_org: Organization
) -> None:
    theirs = RoleFactory(organization=other_org, role_id="mod", permissions=["grant"])
    _rule(theirs, "messaging:channel:*", "message.send", Rule.Access.DENY)
    RoleFactory(organization=org, role_id="mod")
    member = make_member(org, roles=["mod"])
    assert not can(member, "grant")
    assert can(member, "message.send", "messaging:channel:1")


def test_the_rules_are_loaded_once_per_member_object(org: Organization) -> None:
    role = RoleFactory(organization=org, role_id="r", permissions=["members.mute"])
    _rule(role, "messaging:channel:*", "message.send", Rule.Access.DENY)
    member = make_member(org, role=Member.OrgRole.ADMIN, roles=["r"])
    with CaptureQueriesContext(connection) as ctx:
        for i in range(20):
            can(member, "message.send", f"messaging:channel:{i + 1}")
    # one query: the member's roles joined to their rules, on the first call only
    assert len(ctx.captured_queries) == 1
    with CaptureQueriesContext(connection) as ctx:
        can(member, "members.mute", "messaging:channel:1")
    assert len(ctx.captured_queries) == 0


def test_a_member_without_roles_costs_no_query(org: Organization) -> None:
    member = make_member(org, role=Member.OrgRole.ADMIN)
    with CaptureQueriesContext(connection) as ctx:
        for _ in range(20):
            assert can(member, "message.delete.all", "messaging:channel:1")
    assert len(ctx.captured_queries) == 0


def test_forget_rules_reloads_them(org: Organization) -> None:
    role = RoleFactory(organization=org, role_id="r")
    member = make_member(org, roles=["r"])
    assert can(member, "message.send", "messaging:channel:1")
    _rule(role, "messaging:channel:*", "message.send", Rule.Access.DENY)
    assert can(member, "message.send", "messaging:channel:1")  # cached for this object
    forget_rules(member)
    assert not can(member, "message.send", "messaging:channel:1")


def test_check_refuses_with_403_forbidden(org: Organization) -> None:
    member = make_member(org, role=Member.OrgRole.GUEST)
    check(member, "message.send", "messaging:channel:1")
    with pytest.raises(DomainError) as refused:
        check(member, "grant")
    assert refused.value.code == "forbidden" and refused.value.status == 403


def test_an_operation_the_product_never_checks_is_a_programming_error(
    org: Organization,
) -> None:
    with pytest.raises(KeyError):
        can(make_member(org), "message.send", MESSAGING)


def test_a_changed_list_of_roles_is_read_again(org: Organization) -> None:
    role = RoleFactory(organization=org, role_id="r")
    _rule(role, "messaging:channel:*", "message.send", Rule.Access.DENY)
    member = make_member(org)
    assert can(member, "message.send", "messaging:channel:1")
    member.roles = ["r"]  # e.g. refresh_from_db() after the roles changed
    assert not can(member, "message.send", "messaging:channel:1")


@pytest.mark.parametrize("org_role", ORG_ROLES)
def test_the_channel_decider_answers_as_can_for_owned_and_other_channels(
    org: Organization, org_role: str
) -> None:
    member = make_member(org, role=org_role)
    mine, theirs = ChannelFactory(organization=org), ChannelFactory(organization=org)
    _own(mine, member)
    mine.viewer_is_owner, theirs.viewer_is_owner = True, False
    decide = channel_decider(member)
    for op in (op for op in OPERATIONS if op.resource == CHANNEL):
        for channel in (mine, theirs, mine, theirs):  # twice: the remembered answers too
            assert decide(channel)[op.operation] is can(member, op.operation, channel)


def test_the_channel_decider_keeps_a_rule_on_one_channel_to_that_channel(
    org: Organization,
) -> None:
    role = RoleFactory(organization=org, role_id="r")
    first, second = ChannelFactory(organization=org), ChannelFactory(organization=org)
    _rule(role, channel_resource(first), "message.send", Rule.Access.DENY)
    member = make_member(org, roles=["r"])
    first.viewer_is_owner = second.viewer_is_owner = False
    decide = channel_decider(member)
    assert not decide(first)["message.send"]
    assert decide(second)["message.send"]
    assert not decide(first)["message.send"]


def test_the_channel_decider_reads_ownership_that_was_not_loaded(org: Organization) -> None:
    member = make_member(org)
    mine, theirs = ChannelFactory(organization=org), ChannelFactory(organization=org)
    _own(mine, member)
    decide = channel_decider(member)
    assert decide(mine)["update"]
    assert not decide(theirs)["update"]
