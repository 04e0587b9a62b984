"""The two token headers: who gets in, who is refused, and how."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.actor import Actor
from apps.members.services import member_ban
from apps.messenger.permissions import Caller
from apps.moderation.filter.cache import matcher_for
from apps.organizations.models import AccessToken
from apps.organizations.selectors import token_authenticate
from tests.builders import make_chatroom
from tests.factories import AccountFactory
from tests.personas import (
    BASE,
    MessengerClient,
    api_token_client,
    issue_token,
    make_member,
    personal_client,
    revoke_token,
)

ROUTES = [
    ("get", f"{BASE}/chatrooms"),
    ("post", f"{BASE}/chatrooms"),
    ("get", f"{BASE}/chatroom?event_id=1"),
    ("get", f"{BASE}/chatrooms/1"),
    ("put", f"{BASE}/chatrooms/1"),
    ("delete", f"{BASE}/chatrooms/1"),
    ("put", f"{BASE}/chatrooms/1/avatar"),
    ("get", f"{BASE}/chatrooms/1/avatar"),
    ("post", f"{BASE}/chatrooms/1/messages"),
    ("post", f"{BASE}/organizations/1/default-chatroom"),
    ("delete", f"{BASE}/organizations/1/default-chatroom"),
]


@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_every_route_refuses_a_request_without_a_token(anon, method, url) -> None:
    response = getattr(anon, method)(url)

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_every_route_refuses_unknown_tokens_of_both_kinds(db, method, url) -> None:
    for client in (
        MessengerClient(api_token="nope"),
        MessengerClient(personal_token="nope"),
        MessengerClient(api_token=""),
    ):
        response = getattr(client, method)(url)

        assert response.status_code == 401, response.content
        assert response.json()["code"] == "unauthorized"


def test_a_revoked_api_token_is_refused(org, api_token) -> None:
    url = f"{BASE}/chatrooms?organization_id={org.pk}"
    assert api_token.get(url).status_code == 200
    revoke_token(token=AccessToken.objects.get(kind=AccessToken.Kind.API))

    response = api_token.get(url)

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_a_revoked_personal_token_is_refused(org, member, member_pat) -> None:
    url = f"{BASE}/chatrooms?organization_id={org.pk}"
    assert member_pat.get(url).status_code == 200
    revoke_token(token=AccessToken.objects.get(kind=AccessToken.Kind.PERSONAL))

    response = member_pat.get(url)

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_a_token_of_another_kind_is_refused_in_each_header(org, member) -> None:
    account = AccountFactory()
    admin_raw = issue_token(kind=AccessToken.Kind.ADMIN, account=account, organization=org).raw
    api_raw = issue_token(kind=AccessToken.Kind.API, account=account, organization=org).raw
    personal_raw = personal_client(member).raw_token

    for client in (
        MessengerClient(api_token=admin_raw),
        MessengerClient(personal_token=admin_raw),
        MessengerClient(personal_token=api_raw),
        MessengerClient(api_token=personal_raw),
    ):
        response = client.get(f"{BASE}/chatrooms?organization_id={org.pk}")
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"


def test_the_messenger_tokens_do_not_open_the_admin_api(org, api_token) -> None:
    response = api_token.get("/api/v2/channels", HTTP_AUTHORIZATION=f"Bearer {api_token.raw_token}")

    assert response.status_code == 401


def test_both_headers_at_once_are_refused(org, member) -> None:
    api_raw = api_token_client(org).raw_token
    personal_raw = personal_client(member).raw_token
    client = MessengerClient(api_token=api_raw, personal_token=personal_raw)

    response = client.get(f"{BASE}/chatrooms?organization_id={org.pk}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"


def test_a_deactivated_account_s_personal_token_is_refused(org, member, member_pat) -> None:
    account = member.account
    account.is_active = False
    account.save(update_fields=["is_active"])

    response = member_pat.get(f"{BASE}/chatrooms?organization_id={org.pk}")

    assert response.status_code == 401


def test_a_globally_banned_member_s_personal_token_is_refused_in_that_organization(
    org, other_org, member, member_pat, room
) -> None:
    # the same account is also a member of globex, where it is not banned
    elsewhere = make_member(other_org, user_id="bob-at-globex", account=member.account)
    member_ban(actor=Actor.system(), member=member, reason="spam")

    for response in (
        member_pat.get(f"{BASE}/chatrooms?organization_id={org.pk}"),
        member_pat.get(f"{BASE}/chatrooms/{room.pk}"),
        member_pat.post(f"{BASE}/chatrooms/{room.pk}/messages", {"message": "hi"}, format="json"),
    ):
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "user_globally_banned"

    assert member_pat.get(f"{BASE}/chatrooms?organization_id={other_org.pk}").status_code == 200
    # across organizations, the banned organization's chatrooms are left out
    listed = member_pat.get(f"{BASE}/chatrooms").json()
    assert listed == {"entries": [], "total": 0}
    assert elsewhere.pk


def test_an_expired_global_ban_no_longer_refuses(org, member, member_pat) -> None:
    member_ban(actor=Actor.system(), member=member, ban_period=1)
    member.refresh_from_db()
    type(member).objects.filter(pk=member.pk).update(
        ban_expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = member_pat.get(f"{BASE}/chatrooms?organization_id={org.pk}")

    assert response.status_code == 200


def test_a_401_says_which_headers_to_send(anon) -> None:
    response = anon.get(f"{BASE}/chatrooms")

    assert response.status_code == 401
    assert response.json()["status"] == "error"


@pytest.mark.parametrize("by_room", [False, True])
def test_a_personal_token_s_organization_needs_no_read_of_its_own_for_the_content_filter(
    org, member, member_pat, by_room
) -> None:
    # The scope's organization is loaded with the member (a join) and stamped as read
    # with its row (mark_row_read): the content filter trusts its filter_version.
    room = make_chatroom(org, "Team", [member])
    caller = Caller(token_authenticate(raw=member_pat.raw_token, kind=AccessToken.Kind.PERSONAL))
    scope = caller.chatroom(room.pk)[0] if by_room else caller.scope(org.pk)
    matcher_for(scope.organization)  # builds and caches the matcher

    with CaptureQueriesContext(connection) as queries:
        matcher_for(scope.organization)

    assert len(queries) == 0
