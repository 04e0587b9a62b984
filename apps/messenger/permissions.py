"""Who may do what in the chatroom service, for each of the two token kinds.

- ``API-TOKEN`` (kind ``api``): acts on its organization only, with the rights of an
  organization admin, and without a user: an organization id that is not the token's
  is answered like an unknown one (404), and requests that need a user (the caller's
  own chatrooms across organizations, sending a message as oneself) are 400
  ``user_context_required``.
- ``Personal-Access-Token`` (kind ``personal``): acts as the Account's Member in each
  organization. An organization where the Account has no Member is unknown (404); a
  globally banned Member is refused there (403 ``user_globally_banned``). Members with
  ``org_role`` admin manage the organization's chatrooms and see all of them; every
  other role sees (and posts in) only the chatrooms it is assigned to, and a chatroom
  it cannot see is 404 like an unknown one (decided in SQL by the chatroom selectors,
  :mod:`apps.channels.selectors.chatrooms`, given the scope's member).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from apps.channels.models import Channel
from apps.channels.selectors.chatrooms import MAX_ID, chatroom_get, chatroom_member_of_account
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.organizations.models import AccessToken, Organization
from apps.organizations.selectors import mark_row_read


def _organization_not_found(organization_id: int, field: str) -> DomainError:
    return DomainError(
        "organization_not_found", f"No organization with id {organization_id}.", field=field
    )


@dataclass(frozen=True)
class Scope:
    """The organization a request acts in, and the Member acting there (None: an
    API-TOKEN, which acts for the organization itself)."""

    organization: Organization
    member: Member | None

    @property
    def can_manage(self) -> bool:
        """Create, update, delete chatrooms; default chatroom; avatars."""
        return self.member is None or self.member.is_org_admin

    def require_manage(self) -> None:
        if not self.can_manage:
            raise DomainError(
                "forbidden", "Only organization admins can manage chatrooms in this organization."
            )


class Caller:
    """The token of a request to /api/messenger/ and the scopes it may act in."""

    def __init__(self, token: AccessToken) -> None:
        self.token = token

    @property
    def is_personal(self) -> bool:
        return self.token.kind == AccessToken.Kind.PERSONAL

    def require_user(self, what: str) -> None:
        """400 ``user_context_required`` unless the token acts as a user."""
        if not self.is_personal:
            raise DomainError(
                "user_context_required",
                f"{what} needs a user, and an API-TOKEN acts for an organization only: "
                "use a Personal-Access-Token.",
            )

    def _member_in(self, organization_id: int) -> Member | None:
        if not 1 <= organization_id <= MAX_ID:
            return None
        return (
            Member.objects.select_related("organization")
            .filter(account=self.token.account, organization_id=organization_id)
            .first()
        )

    def _checked(self, member: Member) -> Scope:
        """The scope of a Member this request has just loaded with its organization (a
        join): the organization is stamped as read with its row (``mark_row_read``), so
        the content filter of a post trusts its ``filter_version`` without a query."""
        if member.is_globally_banned(timezone.now()):
            raise DomainError(
                "user_globally_banned",
                f"Your user is banned from organization {member.organization_id}.",
            )
        return Scope(organization=mark_row_read(member.organization), member=member)

    def scope(self, organization_id: int | None, *, field: str = "organization_id") -> Scope:
        """The scope of an organization the caller named (or, for an API-TOKEN, its own
        when none is named). 404 ``organization_not_found`` for one it cannot act in."""
        if not self.is_personal:
            organization = self.token.organization
            assert organization is not None
            if organization_id is not None and organization_id != organization.pk:
                raise _organization_not_found(organization_id, field)
            return Scope(organization=organization, member=None)
        if organization_id is None:
            raise DomainError(
                "missing_parameter",
                f"{field} is required with a Personal-Access-Token.",
                field=field,
            )
        member = self._member_in(organization_id)
        if member is None:
            raise _organization_not_found(organization_id, field)
        return self._checked(member)

    def members(self) -> list[Member]:
        """The Account's Members that may act (not globally banned), for lists across
        organizations. Needs a user (see :meth:`require_user`)."""
        self.require_user("Listing your chatrooms without organization_id")
        now = timezone.now()
        members = Member.objects.filter(account=self.token.account).order_by("pk")
        return [m for m in members if not m.is_globally_banned(now)]

    def chatroom(
        self, room_id: int, *, organization_id: int | None = None
    ) -> tuple[Scope, Channel]:
        """The chatroom ``room_id``, if this caller may see it, and the scope to act on it
        in; else 404 ``chatroom_not_found`` (field ``roomID``), whether it does not exist,
        is another organization's or is not visible to the caller.

        An API-TOKEN finds only its organization's chatrooms; a personal token those of
        the organizations where its Account has a Member (then checked for a global
        ban). ``organization_id`` (from a body) narrows the search to that organization.
        """
        if not 1 <= room_id <= MAX_ID:
            raise DomainError("chatroom_not_found", "Chatroom not found.", field="roomID")
        if organization_id is not None or not self.is_personal:
            scope = self.scope(organization_id, field="organizationID")
        else:
            member = chatroom_member_of_account(account=self.token.account, room_id=room_id)
            if member is None:
                raise DomainError("chatroom_not_found", "Chatroom not found.", field="roomID")
            scope = self._checked(member)
        channel = chatroom_get(
            organization=scope.organization, room_id=room_id, member=scope.member
        )
        return scope, channel
