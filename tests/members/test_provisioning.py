"""Provisioning members on demand (``apps.members.services.members_provision`` and its
callers) is race-safe: whatever the interleaving of two requests, one Member row and
one ``user.created`` event.

The race: request A reads "no such user", request B inserts it, then A inserts. The
SQLite tests call the insert in the state A meets (the row exists though A's read
missed it); the PostgreSQL tests play the real interleaving on two connections: B's
row is inserted but uncommitted when A reads, A's INSERT waits for B, then B commits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction

from apps.accounts.models import Account
from apps.events.models import Event
from apps.members.models import Member
from apps.members.services import (
    AccountMember,
    member_get_or_create_for_account,
    members_provision,
    members_resolve,
)
from apps.organizations.models import Organization
from tests.factories import AccountFactory, MemberFactory
from tests.personas import SYSTEM, token_member

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="two open transactions need PostgreSQL"
)


def command_member(organization: Organization, account: Account, role: str) -> AccountMember:
    """The account's member as ``create_personal_token --org --role`` asks for it."""
    return member_get_or_create_for_account(
        organization=organization,
        account=account,
        actor=SYSTEM,
        role=role,
        set_role=True,
        claim_user_id=True,
    )


def _created_user_ids() -> list[str]:
    events = Event.objects.filter(type="user.created").order_by("pk")
    return [user_id for event in events for user_id in event.payload["userIds"]]


# --- the insert, in the state a lost race leaves ------------------------------------------------


def test_provisioning_a_user_inserted_meanwhile_leaves_it_alone_without_an_event(
    org: Organization,
) -> None:
    alice = MemberFactory(organization=org, user_id="alice", display_name="Alice")

    created = members_provision(
        organization=org,
        rows=[
            Member(organization=org, user_id="alice", display_name="alice"),
            Member(organization=org, user_id="bob", display_name="bob"),
        ],
    )

    assert [m.user_id for m in created] == ["bob"]
    assert created[0].pk is not None
    assert Member.objects.get(organization=org, user_id="alice").display_name == "Alice"
    assert Member.objects.filter(organization=org).count() == 2
    assert _created_user_ids() == ["bob"]
    assert alice.pk != created[0].pk


def test_provisioning_only_users_inserted_meanwhile_creates_nothing(org: Organization) -> None:
    MemberFactory(organization=org, user_id="alice")
    MemberFactory(organization=org, user_id="bob")

    created = members_provision(
        organization=org,
        rows=[Member(organization=org, user_id=uid, display_name=uid) for uid in ("bob", "alice")],
    )

    assert created == []
    assert Member.objects.filter(organization=org).count() == 2
    assert _created_user_ids() == []


def test_provisioning_an_account_whose_member_was_inserted_meanwhile_creates_nothing(
    org: Organization,
) -> None:
    account = AccountFactory(email="ann@acme.test")
    MemberFactory(organization=org, user_id="ann@acme.test", account=account)

    created = members_provision(
        organization=org,
        rows=[Member(organization=org, account=account, user_id="ann@acme.test#1")],
    )

    assert created == []
    assert Member.objects.filter(organization=org, account=account).count() == 1
    assert _created_user_ids() == []


def test_provisioning_new_users_emits_one_user_created_each_in_the_given_order(
    org: Organization,
) -> None:
    created = members_provision(
        organization=org,
        rows=[Member(organization=org, user_id=uid, display_name=uid) for uid in ("zoe", "adam")],
    )

    assert [m.user_id for m in created] == ["zoe", "adam"]
    assert all(m.pk is not None and m.organization == org for m in created)
    assert _created_user_ids() == ["zoe", "adam"]


def test_resolving_users_twice_provisions_and_announces_each_once(org: Organization) -> None:
    first = members_resolve(organization=org, user_ids=["alice", "bob"])
    second = members_resolve(organization=org, user_ids=["bob", "alice", "carol"])

    assert [m.pk for m in second[:2]] == [first[1].pk, first[0].pk]
    assert Member.objects.filter(organization=org).count() == 3
    assert _created_user_ids() == ["alice", "bob", "carol"]


def test_an_accounts_member_skips_a_user_id_taken_by_another_user(org: Organization) -> None:
    account = AccountFactory(email="ann@acme.test")
    MemberFactory(organization=org, user_id="ann@acme.test")

    member = token_member(org, account)

    assert member.user_id == "ann@acme.test#1"
    assert member.account == account
    assert token_member(org, account).pk == member.pk
    assert _created_user_ids() == ["ann@acme.test#1"]


# --- the real interleaving (PostgreSQL) ---------------------------------------------------------


def _a_session_waits_for_a_lock(timeout: float = 10.0) -> bool:
    """Whether, within ``timeout``, some session of the test database waits on a lock
    (the second INSERT, on the first one's uncommitted row)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.01)
    return False


def _race(first: Callable[[], Any], second: Callable[[], Any]) -> tuple[Any, Any]:
    """``first`` inserts and holds its transaction open; ``second`` starts then (its
    read misses the uncommitted row) and blocks in its INSERT; then ``first`` commits.
    Each runs in its own thread, connection and transaction."""
    results: dict[str, Any] = {}
    errors: list[BaseException] = []
    first_inserted = threading.Event()
    first_may_commit = threading.Event()

    def run_first() -> None:
        try:
            with transaction.atomic():
                results["first"] = first()
                first_inserted.set()
                if not first_may_commit.wait(timeout=20):
                    raise TimeoutError("first was never told to commit")
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
            first_inserted.set()
        finally:
            connections.close_all()

    def run_second() -> None:
        try:
            with transaction.atomic():
                results["second"] = second()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run_first), threading.Thread(target=run_second)]
    threads[0].start()
    assert first_inserted.wait(timeout=20)
    threads[1].start()
    try:
        waited = not errors and _a_session_waits_for_a_lock()
    finally:
        first_may_commit.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not errors, errors
    assert waited, "the second provisioning never waited for the first one's row"
    return results["first"], results["second"]


@pytest.mark.django_db(transaction=True)
@on_postgresql
def test_two_requests_resolving_the_same_new_user_make_one_row_and_one_event(
    org: Organization,
) -> None:
    first, second = _race(
        lambda: members_resolve(organization=org, user_ids=["alice"]),
        lambda: members_resolve(organization=org, user_ids=["bob", "alice"]),
    )

    assert second[1].pk == first[0].pk
    assert Member.objects.filter(organization=org, user_id="alice").count() == 1
    assert sorted(_created_user_ids()) == ["alice", "bob"]


@pytest.mark.django_db(transaction=True)
@on_postgresql
def test_two_requests_provisioning_one_accounts_member_make_one_row_and_one_event(
    org: Organization,
) -> None:
    account = AccountFactory(email="ann@acme.test")

    first, second = _race(
        lambda: token_member(org, account),
        lambda: token_member(org, account),
    )

    assert second.pk == first.pk
    assert first.user_id == "ann@acme.test"
    assert Member.objects.filter(organization=org).count() == 1
    assert _created_user_ids() == ["ann@acme.test"]


@pytest.mark.django_db(transaction=True)
@on_postgresql
def test_a_personal_token_command_racing_the_api_reuses_the_accounts_member(
    org: Organization,
) -> None:
    account = AccountFactory(email="ann@acme.test")

    first, (second, created) = _race(
        lambda: token_member(org, account),
        lambda: command_member(org, account, "member"),
    )

    assert not created
    assert second.pk == first.pk
    assert Member.objects.get(pk=first.pk).org_role == "member"
    assert _created_user_ids() == ["ann@acme.test"]


def test_the_personal_token_command_provisions_its_member_once(org: Organization) -> None:
    for _ in range(2):
        call_command("create_personal_token", email="ann@acme.test", org="acme", stdout=StringIO())

    account = Account.objects.get(email="ann@acme.test")
    assert Member.objects.filter(organization=org, account=account).count() == 1
    assert _created_user_ids() == ["ann@acme.test"]
