"""Keyset pagination: opaque signed tokens bound to one query (DESIGN.md invariant 7)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import signing

from apps.core.errors import DomainError
from apps.core.pagination import decode_token, encode_token, keyset_page
from apps.members.models import Member
from apps.organizations.models import Organization
from tests.factories import MemberFactory
from tests.personas import TokenClient

URL = "/api/test/members"  # see tests/core/urls.py


@pytest.fixture
def members(org: Organization) -> list[Member]:
    return [MemberFactory(organization=org, user_id=f"u{i:02d}") for i in range(25)]


def page(client: TokenClient, **params: Any) -> dict[str, Any]:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_it_pages_forward_and_backward(org: Organization, members: list[Member]) -> None:
    qs = Member.objects.filter(organization=org)
    first = keyset_page(qs, scope="s", limit=10)
    assert [m.user_id for m in first.items] == [f"u{i:02d}" for i in range(10)]
    assert first.previous is None and first.next

    second = keyset_page(qs, scope="s", limit=10, token=first.next)
    assert [m.user_id for m in second.items] == [f"u{i:02d}" for i in range(10, 20)]
    assert second.previous and second.next

    third = keyset_page(qs, scope="s", limit=10, token=second.next)
    assert [m.user_id for m in third.items] == [f"u{i:02d}" for i in range(20, 25)]
    assert third.next is None and third.previous

    back = keyset_page(qs, scope="s", limit=10, token=third.previous)
    assert [m.pk for m in back.items] == [m.pk for m in second.items]
    assert back.next and back.previous

    start = keyset_page(qs, scope="s", limit=10, token=back.previous)
    assert [m.pk for m in start.items] == [m.pk for m in first.items]
    assert start.previous is None and start.next


def test_an_exact_multiple_ends_without_a_next_token(
    org: Organization, members: list[Member]
) -> None:
    qs = Member.objects.filter(organization=org)
    first = keyset_page(qs, scope="s", limit=25)
    assert len(first.items) == 25 and first.next is None and first.previous is None


def test_an_empty_list_has_no_tokens(org: Organization) -> None:
    empty = keyset_page(Member.objects.filter(organization=org), scope="s", limit=10)
    assert (empty.items, empty.next, empty.previous) == ([], None, None)


def test_skip_applies_to_the_first_page_and_offers_a_previous_page(
    org: Organization, members: list[Member]
) -> None:
    qs = Member.objects.filter(organization=org)
    skipped = keyset_page(qs, scope="s", limit=10, skip=5)
    assert [m.user_id for m in skipped.items] == [f"u{i:02d}" for i in range(5, 15)]
    assert skipped.previous
    before = keyset_page(qs, scope="s", limit=10, token=skipped.previous)
    assert [m.user_id for m in before.items] == [f"u{i:02d}" for i in range(5)]
    assert before.previous is None


def test_rows_added_while_paging_are_neither_skipped_nor_repeated(
    org: Organization, members: list[Member]
) -> None:
    qs = Member.objects.filter(organization=org)
    first = keyset_page(qs, scope="s", limit=10)
    MemberFactory(organization=org, user_id="late")
    seen = [m.user_id for m in first.items]
    token = first.next
    while token:
        nxt = keyset_page(qs, scope="s", limit=10, token=token)
        seen += [m.user_id for m in nxt.items]
        token = nxt.next
    assert seen == [f"u{i:02d}" for i in range(25)] + ["late"]


def test_a_token_is_opaque_and_signed() -> None:
    token = encode_token("scope", {"d": "next", "k": 5})
    assert "scope" not in token
    assert decode_token("scope", token)["k"] == 5


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "",
        "x" * 600,
        signing.dumps({"s": "s", "d": "next", "k": 1}, salt="another-salt"),
    ],
    # (ids, not the values: the signed one holds a timestamp, and pytest-xdist needs the
    # same test ids in every process)
    ids=["garbage", "empty", "oversized", "another-salt"],
)
def test_it_refuses_a_forged_token(token: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        decode_token("s", token)
    assert excinfo.value.code == "invalid_page_token"


@pytest.mark.parametrize(
    "payload", [{"d": "sideways", "k": 1}, {"d": "next", "k": "1"}, {"d": "next"}]
)
def test_it_refuses_a_signed_token_with_a_bad_payload(
    org: Organization, payload: dict[str, Any]
) -> None:
    token = encode_token("s", payload)
    with pytest.raises(DomainError) as excinfo:
        keyset_page(Member.objects.filter(organization=org), scope="s", limit=10, token=token)
    assert excinfo.value.code == "invalid_page_token"


# --- through an endpoint -----------------------------------------------------------------------

pytestmark_urls = pytest.mark.urls("tests.core.urls")


@pytestmark_urls
def test_an_endpoint_pages_with_the_tokens_it_issues(
    api: TokenClient, members: list[Member]
) -> None:
    first = page(api, limit=10)
    assert first["paging"]["previous"] is None
    second = page(api, limit=10, token=first["paging"]["next"])
    assert second["users"][0] == "u10"
    back = page(api, limit=10, token=second["paging"]["previous"])
    assert back["users"] == first["users"]


@pytestmark_urls
def test_a_tampered_token_is_a_400(api: TokenClient, members: list[Member]) -> None:
    token = page(api, limit=10)["paging"]["next"]
    index = len(token) // 2
    tampered = token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]
    response = api.get(URL, {"limit": 10, "token": tampered})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_page_token"
    assert response.json()["field"] == "token"


@pytestmark_urls
def test_a_token_of_another_query_is_a_400(api: TokenClient, members: list[Member]) -> None:
    token = page(api, limit=5, prefix="u0")["paging"]["next"]
    response = api.get(URL, {"limit": 5, "prefix": "u1", "token": token})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_page_token"


@pytestmark_urls
def test_a_token_of_another_organization_is_a_400(
    api: TokenClient, other_api: TokenClient, members: list[Member]
) -> None:
    token = page(api, limit=5)["paging"]["next"]
    response = other_api.get(URL, {"limit": 5, "token": token})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_page_token"


@pytestmark_urls
def test_a_token_is_bound_to_the_secret_key(
    api: TokenClient, members: list[Member], settings: Any
) -> None:
    token = page(api, limit=5)["paging"]["next"]
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    response = api.get(URL, {"limit": 5, "token": token})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_page_token"
