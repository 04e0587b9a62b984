"""Two real web processes on one PostgreSQL database: what one changes, the other honours
from its very next request (issue 15). Each process is ``gunicorn chatadmin.wsgi`` with
one sync worker (``tests/chaos/servers.py``), so A and B are two Python processes with
their own caches, on the suite's test database.

- Revocation: an access token revoked, an Account deactivated, a member banned, a
  session revoked: refused by both processes on the next request (the token and session
  lookups run on every request; nothing is cached per process).
- Content filter freshness: a blacklist word added through A is refused by B on the
  next request, every time (B's cached matcher is checked against the version its token
  lookup read in the same statement).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from apps.accounts.models import Account
from apps.members.models import Member, MemberSession
from apps.members.services import member_session_issue
from apps.organizations.models import AccessToken, Organization
from tests.chaos import servers
from tests.chaos.servers import Gunicorn
from tests.factories import AccountFactory, ChannelFactory, MemberFactory, OrganizationFactory
from tests.personas import SYSTEM, given_token, revoke_token

from .harness import test_database_url

#: Posts through B right after each word added through A (the old 1 s version cache let
#: 9 in 10 through).
ROUNDS = 5


@pytest.fixture
def web(transactional_db: None, tmp_path: Path) -> Iterator[tuple[Gunicorn, Gunicorn]]:
    """Processes A and B: one gunicorn worker each, on the test database."""
    started: list[Gunicorn] = []
    try:
        for name in ("a", "b"):
            env = servers.product_env(test_database_url(), tmp_path / name)
            started.append(Gunicorn(env, workers=1, log=tmp_path / f"{name}.log"))
            started[-1].start()
        yield started[0], started[1]
    finally:
        for process in started:
            process.stop()


def call(
    web: Gunicorn, method: str, path: str, headers: dict[str, str], body: Any = None
) -> tuple[int, Any]:
    connection = http.client.HTTPConnection(web.host, web.port, timeout=30)
    try:
        payload = None if body is None else json.dumps(body).encode()
        sent = {"Host": web.host, "Accept": "application/json", **headers}
        if payload is not None:
            sent["Content-Type"] = "application/json"
        connection.request(method, path, payload, sent)
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        connection.close()


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def admin_token(org: Organization, account: Account | None = None) -> tuple[AccessToken, str]:
    issued = given_token(kind=AccessToken.Kind.ADMIN, organization=org, account=account)
    return issued.token, issued.raw


ME = "/api/v2/users"


def test_a_revoked_token_fails_on_the_next_request_of_every_process(web) -> None:
    a, b = web
    org = OrganizationFactory()
    token, raw = admin_token(org)
    assert call(a, "GET", ME, bearer(raw))[0] == 200
    assert call(b, "GET", ME, bearer(raw))[0] == 200
    revoke_token(token=token)
    assert call(a, "GET", ME, bearer(raw))[0] == 401
    assert call(b, "GET", ME, bearer(raw))[0] == 401


def test_a_deactivated_account_fails_on_the_next_request_of_every_process(web) -> None:
    a, b = web
    org = OrganizationFactory()
    account = AccountFactory()
    _, raw = admin_token(org, account)
    assert call(a, "GET", ME, bearer(raw))[0] == 200
    assert call(b, "GET", ME, bearer(raw))[0] == 200
    Account.objects.filter(pk=account.pk).update(is_active=False)  # e.g. the admin site
    assert call(a, "GET", ME, bearer(raw))[0] == 401
    assert call(b, "GET", ME, bearer(raw))[0] == 401


STATUS = "/api/messaging/status/"


def test_a_banned_member_and_a_revoked_session_fail_on_the_next_request_of_every_process(
    web,
) -> None:
    a, b = web
    org = OrganizationFactory()
    _, admin = admin_token(org)
    member = MemberFactory(organization=org, user_id="alice")
    session = bearer(member_session_issue(actor=SYSTEM, member=member).token)
    assert call(a, "GET", STATUS, session)[0] == 200
    assert call(b, "GET", STATUS, session)[0] == 200

    status, body = call(a, "POST", "/api/v2/users/ban", bearer(admin), {"userId": "alice"})
    assert status == 200, body
    for process in (b, a):
        status, body = call(process, "GET", STATUS, session)
        assert status == 403 and body["error"]["code"] == "user_globally_banned", body

    status, body = call(b, "POST", "/api/v2/users/unban", bearer(admin), {"userId": "alice"})
    assert status == 200, body
    assert call(a, "GET", STATUS, session)[0] == 200
    MemberSession.objects.filter(member=member).update(revoked_at=timezone.now())
    assert call(a, "GET", STATUS, session)[0] == 401
    assert call(b, "GET", STATUS, session)[0] == 401


def test_a_word_blacklisted_through_one_process_is_refused_by_the_other_at_once(web) -> None:
    a, b = web
    org = OrganizationFactory()
    ChannelFactory(organization=org, channel_id="general")
    _, raw = admin_token(org)
    member = MemberFactory(organization=org, org_role=Member.OrgRole.ADMIN)
    session = bearer(member_session_issue(actor=SYSTEM, member=member).token)
    channel_pk = org.channels.get(channel_id="general").pk

    def post_v2(process: Gunicorn, text: str) -> tuple[int, Any]:
        body = {"channelId": "general", "type": "text", "data": {"text": text}}
        return call(process, "POST", "/api/v2/message", bearer(raw), body)

    def post_messaging(process: Gunicorn, text: str) -> tuple[int, Any]:
        path = f"/api/messaging/channels/{channel_pk}/messages/"
        return call(process, "POST", path, session, {"message": text})

    for n in range(ROUNDS):
        word = f"forbidden{n}"
        # B's matcher is built and cached with the current version
        assert post_v2(b, f"clean {n}")[0] == 201
        assert post_messaging(b, f"clean again {n}")[0] == 201
        status, body = call(a, "POST", "/api/v2/blacklist/records", bearer(raw), {"regexs": [word]})
        assert status == 201, body
        status, body = post_v2(b, f"say {word} now")
        assert status == 400 and body["code"] == "blacklisted_content", body
        status, body = post_messaging(b, f"say {word} again")
        assert status == 400 and body["error"]["code"] == "blacklisted_content", body
