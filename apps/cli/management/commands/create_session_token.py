"""``manage.py create_session_token --org SLUG --user-id USERID [--ttl SECONDS]``.

Issues a messaging API session token (``Authorization: Bearer`` on /api/messaging/)
acting as the user ``USERID`` of the organization, exactly as ``POST
/api/v2/users/:userId/sessions`` does: the user is provisioned if the organization has
none of that userId (audited ``user.created`` event), the token lives ``--ttl`` seconds
(default ``CHATADMIN_SESSION_TTL_SECONDS``), and the issue is audited as
``session.issue`` by the system. The raw token is printed once, alone on the last line
(``| tail -n 1``); only its SHA-256 hash is stored.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.cli.arguments import SYSTEM, domain_errors, organization_by_slug
from apps.core.sweeps import iso
from apps.core.text import identifier_problem, parse_integer
from apps.members.models import Member
from apps.members.services import member_session_issue_for_user_id


def _checked_user_id(value: str) -> str:
    user_id = (value or "").strip(" ")
    problem = identifier_problem(user_id) if user_id else "must not be empty"
    if problem is not None:
        raise CommandError(f"--user-id: {problem}")
    if len(user_id) > Member._meta.get_field("user_id").max_length:
        raise CommandError(
            f"--user-id is too long (at most {Member._meta.get_field('user_id').max_length} "
            "characters)."
        )
    return user_id


def _checked_ttl(value: str | None) -> int | None:
    """``--ttl`` as an int; its range is the service's rule (refused there)."""
    if value is None:
        return None
    seconds = parse_integer(value.strip())
    if seconds is None:
        raise CommandError(f"--ttl must be a whole number of seconds, not {value!r}.")
    return seconds


class Command(BaseCommand):
    help = "Issue a messaging API session token for a user; prints the token last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument(
            "--user-id", required=True, help="the user's userId (provisioned if needed)"
        )
        parser.add_argument(
            "--ttl",
            default=None,
            help="lifetime in seconds (default CHATADMIN_SESSION_TTL_SECONDS, 30 days)",
        )

    def handle(self, *args: Any, org: str, user_id: str, ttl: str | None, **options: Any) -> None:
        user_id = _checked_user_id(user_id)
        seconds = _checked_ttl(ttl)
        organization = organization_by_slug(org)
        with domain_errors():
            issued = member_session_issue_for_user_id(
                organization=organization, actor=SYSTEM, user_id=user_id, ttl=seconds
            )
        session = issued.session
        self.stdout.write(
            f"Messaging API session {session.prefix}… for user {user_id!r} of "
            f"{organization.slug}, valid until {iso(session.expires_at)}. "
            "It is shown only once; store it now:"
        )
        self.stdout.write(issued.token)
