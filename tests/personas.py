"""Who acts in the tests: accounts with console roles, chat members, and the API clients
that carry their tokens. Plain functions (fixtures are thin wrappers over them, in the
conftest.py files); builders of rows and requests are in ``tests/builders.py``.

Two ways to a token:

- ``issue_token``: issued the way the product issues it, by the audited services acting
  as the system; an organization's token leaves its ``token.issue`` entry in the audit
  log, like a token of ``manage.py create_access_token``. For tests that issue (or
  revoke, ``revoke_token``) a token as part of what they check.
- ``given_token``: the credentials of a persona (``make_admin_client``,
  ``api_token_client``, ``personal_client``), a row made like the factories make the
  other given rows: hashed like an issued token, but without an audit entry, so that a
  test's audit log holds only what the test itself did.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.members.models import Member
from apps.members.services import member_get_or_create_for_account
from apps.organizations.models import AccessToken, Organization, hash_token
from apps.organizations.services import (
    TOKEN_PREFIXES,
    IssuedToken,
    access_token_revoke,
    organization_token_issue,
    personal_token_issue,
)

from .factories import AccountFactory, MemberFactory, StaffRoleFactory

#: The actor of what the tests set up through the services.
SYSTEM = Actor.system()

# --- tokens ----------------------------------------------------------------------------------


def issue_token(
    *,
    kind: str,
    account: Account | None = None,
    organization: Organization | None = None,
    name: str = "test",
) -> IssuedToken:
    """A token issued by the system through the audited services: an admin or API token
    of ``organization`` (``organization_token_issue``, audited ``token.issue``) or a
    personal token (``personal_token_issue``, no organization). ``account`` holds it (a
    new one if not given)."""
    account = account or AccountFactory()
    if kind == AccessToken.Kind.PERSONAL:
        return personal_token_issue(account=account, name=name)
    assert organization is not None, "an admin or API token needs its organization"
    return organization_token_issue(
        organization=organization, actor=SYSTEM, account=account, kind=kind, name=name
    )


def given_token(
    *,
    kind: str,
    account: Account | None = None,
    organization: Organization | None = None,
    name: str = "",
) -> IssuedToken:
    """A persona's token as a plain row (no audit entry): the format of an issued token
    (its kind's prefix, 256 random bits, only the SHA-256 stored). A personal token
    belongs to no organization."""
    raw = TOKEN_PREFIXES[AccessToken.Kind(kind)] + secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        kind=kind,
        account=account or AccountFactory(),
        organization=None if kind == AccessToken.Kind.PERSONAL else organization,
        name=name,
        prefix=raw[:12],
        token_hash=hash_token(raw),
    )
    return IssuedToken(token=token, raw=raw)


def revoke_token(*, token: AccessToken) -> AccessToken:
    """Revoke ``token`` as the system, through ``access_token_revoke`` (audited
    ``token.revoke`` for an organization's token)."""
    return access_token_revoke(actor=SYSTEM, token=token)


# --- Admin API v2 (Bearer) ---------------------------------------------------------------------


class TokenClient(APIClient):
    """An APIClient that sends one Bearer token and JSON by default."""

    def __init__(self, raw_token: str | None, organization: Organization | None, **kw: Any):
        super().__init__(**kw)
        self.raw_token = raw_token
        self.organization = organization
        if raw_token:
            self.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_token}")


def make_admin_client(organization: Organization, email: str = "admin@acme.test") -> TokenClient:
    """An Admin API client with an admin access token of ``organization`` held by the
    account ``email`` (created)."""
    issued = given_token(
        kind=AccessToken.Kind.ADMIN, account=AccountFactory(email=email), organization=organization
    )
    return TokenClient(issued.raw, organization)


# --- the chatroom service (API-TOKEN, Personal-Access-Token) ----------------------------------


#: The chatroom service's mount point (where a MessengerClient's requests go).
BASE = "/api/messenger"


class MessengerClient(APIClient):
    """Sends one of the two token headers (or, for tests of that case, both)."""

    def __init__(
        self, *, api_token: str | None = None, personal_token: str | None = None, **kw: Any
    ):
        super().__init__(**kw)
        headers = {}
        if api_token is not None:
            headers["HTTP_API_TOKEN"] = api_token
        if personal_token is not None:
            headers["HTTP_PERSONAL_ACCESS_TOKEN"] = personal_token
        self.credentials(**headers)
        self.raw_token = api_token or personal_token


def api_token_client(organization: Organization, email: str = "api@acme.test") -> MessengerClient:
    """A chatroom-service client with an API-TOKEN of ``organization``."""
    issued = given_token(
        kind=AccessToken.Kind.API, account=AccountFactory(email=email), organization=organization
    )
    return MessengerClient(api_token=issued.raw)


def personal_client(member: Member) -> MessengerClient:
    """A personal token of the member's Account (made and linked if the member has none)."""
    issued = given_token(kind=AccessToken.Kind.PERSONAL, account=linked_account(member))
    return MessengerClient(personal_token=issued.raw)


def linked_account(member: Member) -> Account:
    """The member's Account, made and linked if it has none (a token's holder)."""
    if member.account is None:
        member.account = AccountFactory(email=f"{member.user_id}@people.test")
        member.save(update_fields=["account"])
    return member.account


# --- Rocket.Chat's integrations API (X-Auth-Token + X-User-Id) ------------------------------


class RocketChatClient(APIClient):
    """A Rocket.Chat REST client: ``X-Auth-Token`` (an admin access token of the
    organization) and ``X-User-Id`` (the ``_id`` of its holder's member); either may be
    left out for the tests of that case. JSON by default."""

    def __init__(self, token: str | None = None, user_id: str | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.token = token
        self.user_id = user_id
        headers = {}
        if token is not None:
            headers["HTTP_X_AUTH_TOKEN"] = token
        if user_id is not None:
            headers["HTTP_X_USER_ID"] = user_id
        self.credentials(**headers)
        self.default_format = "json"


def rocketchat_client(member: Member) -> RocketChatClient:
    """A Rocket.Chat client acting as ``member``: a new admin token of its organization
    held by the member's Account (made and linked if it has none), and its userId."""
    issued = given_token(
        kind=AccessToken.Kind.ADMIN,
        account=linked_account(member),
        organization=member.organization,
    )
    return RocketChatClient(issued.raw, member.user_id)


# --- chat members ----------------------------------------------------------------------------


def make_member(organization: Organization, role: str = Member.OrgRole.MEMBER, **kw: Any) -> Member:
    """A chat user of ``organization`` with org role ``role`` (admin, member, ...)."""
    return MemberFactory(organization=organization, org_role=role, **kw)


def token_member(organization: Organization, account: Account) -> Member:
    """The account's member as its admin token acting as a chat participant gets it
    (admin messages, reactions): the linked one, else a new org admin."""
    return member_get_or_create_for_account(
        organization=organization, account=account, actor=SYSTEM, role=Member.OrgRole.ADMIN
    ).member


# --- console staff ---------------------------------------------------------------------------


def staff(organization: Organization, role: str, email: str) -> Account:
    """An account with the console ``role`` (owner, admin, moderator) in ``organization``."""
    return StaffRoleFactory(organization=organization, role=role, account__email=email).account


def superuser(email: str = "root@chatadmin.test") -> Account:
    return AccountFactory(email=email, is_staff=True, is_superuser=True)


def console_client(account: Account) -> Client:
    """A Django test client logged in as ``account``."""
    client = Client()
    client.force_login(account)
    return client


# --- messaging API ----------------------------------------------------------------------------


class MessagingClient(APIClient):
    """A chat client of the messaging API: ``Authorization: Bearer <session token>``,
    acting as ``member``; JSON by default."""

    def __init__(self, member: Member | None = None, token: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.member = member
        self.token = token
        if token:
            self.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        self.default_format = "json"


def session_client(member: Member) -> MessagingClient:
    """A messaging client for ``member``, with a session issued the way the back office
    issues one (``member_session_issue`` acting as the system, audited)."""
    from apps.members.services import member_session_issue

    issued = member_session_issue(actor=SYSTEM, member=member)
    return MessagingClient(member=member, token=issued.token)
