"""``manage.py seed_demo``: a demo organization to click and curl around in.

Idempotent: a second run finds every row by its natural key and creates nothing,
except the demo Admin API access token, which is rotated on every run (tokens are
shown only once, so the previous one is revoked and a new one printed; both audited).

Every write goes through the domain's services (staff, tokens, users, channels,
messages, filters, reports), acting as the demo admin: the audit log shows that
``admin@demo.local`` set the organization up.

What it makes, in the organization ``demo``:

- 6 users (``alice`` ... ``frank``) and 3 channels (``general``, ``random``,
  ``support``) with tags and members;
- 20 messages, one of them with a thread of 3 replies;
- 2 blacklist records, 1 whitelist record, 1 open report;
- the superuser ``admin@demo.local`` (password ``demo-admin-pass``, set on the first
  run only) and an Admin API access token named ``demo``;
- a messaging API session of ``alice`` (rotated like the token: her earlier sessions
  are revoked).

At the end the seeded tables are ANALYZEd on PostgreSQL (``apps.core.database.analyze``).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.channels.models import Channel, Membership
from apps.channels.services.channels import channel_create
from apps.core.database import analyze
from apps.members.models import Member
from apps.members.services import (
    member_session_issue,
    member_sessions_revoke,
    member_update,
    members_resolve,
)
from apps.messages.models import Message, MessageTag
from apps.messages.services.messages import message_create
from apps.moderation.services import blacklist_records_add, whitelist_records_add
from apps.organizations.models import AccessToken, Organization, StaffRole
from apps.organizations.services import (
    organization_create,
    organization_token_issue,
    organization_token_revoke,
    staff_member_add,
)
from apps.reports.models import Report
from apps.reports.services import report_create

ORG_SLUG = "demo"
ADMIN_EMAIL = "admin@demo.local"
ADMIN_PASSWORD = "demo-admin-pass"  # documented in the README; first run only
TOKEN_NAME = "demo"

USERS = {
    "alice": "Alice Martin",
    "bob": "Bob Chen",
    "carol": "Carol Diaz",
    "dave": "Dave Okafor",
    "erin": "Erin Novak",
    "frank": "Frank Weber",
}

CHANNELS: list[dict[str, Any]] = [
    {
        "channel_id": "general",
        "display_name": "General",
        "tags": ["company", "announcements"],
        "members": ["alice", "bob", "carol", "dave", "erin", "frank"],
        "metadata": {"topic": "Company-wide announcements and chat"},
    },
    {
        "channel_id": "random",
        "display_name": "Random",
        "tags": ["social"],
        "members": ["alice", "bob", "erin", "frank"],
        "metadata": {"topic": "Anything goes (within the rules)"},
    },
    {
        "channel_id": "support",
        "display_name": "Support",
        "tags": ["help", "customers"],
        "members": ["carol", "dave", "erin"],
        "metadata": {"topic": "Questions about the product"},
    },
]

# (channel, author, text); "thread" marks the parent of the reply thread below.
MESSAGES: list[tuple[str, str, str]] = [
    ("general", "alice", "Welcome to the demo organization, everyone!"),
    ("general", "bob", "Thanks Alice. Where do I find the release notes?"),
    ("general", "alice", "They are at https://example.com/releases"),
    ("general", "carol", "Reminder: all-hands meeting on Thursday at 10:00 UTC."),
    ("general", "dave", "Will it be recorded?"),
    ("general", "carol", "Yes, the recording goes to the wiki afterwards."),
    ("general", "erin", "Great, thank you."),
    ("general", "frank", "Hello from the Berlin office!"),
    ("random", "bob", "Anyone up for lunch?"),
    ("random", "erin", "Count me in. The new ramen place?"),
    ("random", "frank", "Sounds good, 12:30?"),
    ("random", "alice", "Look at this photo of the office dog: https://example.com/dog.jpg"),
    ("support", "dave", "A customer cannot upload images larger than 10 MB. Is that expected?"),
    ("support", "carol", "Yes, 10 MB is the limit per image."),
    ("support", "erin", "I will add it to the FAQ."),
    ("support", "dave", "Thanks both!"),
    ("support", "carol", "The FAQ lives at https://example.com/faq"),
]
THREAD_PARENT = ("general", "carol")  # the all-hands reminder gets the replies below
THREAD_REPLIES: list[tuple[str, str]] = [
    ("alice", "I will be there."),
    ("bob", "Can we add a Q&A slot?"),
    ("carol", "Added 15 minutes of Q&A at the end."),
]
MESSAGE_TAGS = {"Reminder: all-hands meeting on Thursday at 10:00 UTC.": ["announcement"]}
REPORTED = ("random", "frank", "Sounds good, 12:30?")

BLACKLIST = [("spoiler", True), (r"buy\s+cheap\s+\w+", False)]
WHITELIST = ["example.com"]


class Command(BaseCommand):
    help = "Create (or complete) the demo organization, a superuser and a demo token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1:8000", help="where `make run` serves")

    def handle(self, *args: Any, host: str, **options: Any) -> None:
        with transaction.atomic():
            org = self._organization()
            admin, password = self._admin(org)
            actor = Actor(account=admin)  # the audit log shows the demo admin did it
            members = self._members(org, actor)
            channels = self._channels(org, actor)
            created_messages = self._messages(org, actor, channels, members)
            self._filters(org, actor)
            self._report(org, actor, members, channels)
            raw_token = self._token(org, actor)
            session = self._session(actor, members["alice"])
        analyze(Member, Channel, Membership, Message, MessageTag, Report)
        if created_messages:
            self.stdout.write(f"Seeded organization {org.slug!r} with demo data.")
        else:
            self.stdout.write(f"Organization {org.slug!r} already seeded; nothing to add.")
        self._box(host=host, password=password, raw_token=raw_token, session=session)

    # --- rows ---------------------------------------------------------------------------

    def _organization(self) -> Organization:
        org = Organization.objects.filter(slug=ORG_SLUG).first()
        return org or organization_create(slug=ORG_SLUG, name="Demo Organization")

    def _members(self, org: Organization, actor: Actor) -> dict[str, Member]:
        members = members_resolve(organization=org, user_ids=list(USERS))
        for member in members:
            # members_resolve provisions users named after their userId; name them once.
            if member.display_name == member.user_id:
                member_update(actor=actor, member=member, display_name=USERS[member.user_id])
        return {m.user_id: m for m in members}

    def _channels(self, org: Organization, actor: Actor) -> dict[str, Channel]:
        """Channels that do not exist yet are created (with tags and members)."""
        for spec in CHANNELS:
            if not Channel.objects.filter(organization=org, channel_id=spec["channel_id"]).exists():
                channel_create(
                    organization=org,
                    actor=actor,
                    channel_id=spec["channel_id"],
                    display_name=spec["display_name"],
                    metadata=spec["metadata"],
                    tags=spec["tags"],
                    user_ids=spec["members"],
                )
        ids = [spec["channel_id"] for spec in CHANNELS]
        return {
            c.channel_id: c for c in Channel.objects.filter(organization=org, channel_id__in=ids)
        }

    def _messages(
        self,
        org: Organization,
        actor: Actor,
        channels: dict[str, Channel],
        members: dict[str, Member],
    ) -> int:
        """Post the scripted conversation into channels that have no messages yet, each
        message by its user through the message service (counters, tags, events)."""
        empty = {
            cid
            for cid, channel in channels.items()
            if not Message.objects.filter(channel=channel).exists()
        }
        created = 0

        def post(
            channel_id: str, user_id: str, text: str, parent: Message | None = None
        ) -> Message:
            nonlocal created
            created += 1
            return message_create(
                organization=org,
                actor=actor,
                channel=channels[channel_id],
                type=Message.Type.TEXT,
                data={"text": text},
                tags=MESSAGE_TAGS.get(text, []),
                parent_id=str(parent.public_id) if parent is not None else None,
                author=members[user_id],
            )

        for channel_id, user_id, text in MESSAGES:
            if channel_id not in empty:
                continue
            message = post(channel_id, user_id, text)
            if (channel_id, user_id) == THREAD_PARENT and text.startswith("Reminder"):
                for reply_user, reply_text in THREAD_REPLIES:
                    post(channel_id, reply_user, reply_text, parent=message)
        return created

    def _filters(self, org: Organization, actor: Actor) -> None:
        """The services keep existing records and bump the matcher version only on change."""
        for pattern, exact in BLACKLIST:
            blacklist_records_add(
                organization=org, actor=actor, patterns=[pattern], is_match_exact_word=exact
            )
        whitelist_records_add(organization=org, actor=actor, patterns=WHITELIST)

    def _report(
        self,
        org: Organization,
        actor: Actor,
        members: dict[str, Member],
        channels: dict[str, Channel],
    ) -> None:
        if Report.objects.filter(organization=org).exists():
            return
        channel_id, user_id, text = REPORTED
        message = Message.objects.filter(
            channel=channels[channel_id], author=members[user_id], data__text=text
        ).first()
        report_create(
            organization=org,
            actor=actor,
            reporter=members["bob"],
            target_member=members[user_id],
            target_message=message,
            reason="Demo report: please review this message.",
        )

    def _admin(self, org: Organization) -> tuple[Account, str | None]:
        """The console superuser; its password is set on the first run only."""
        admin = Account.objects.filter(email__iexact=ADMIN_EMAIL).first()
        password = None
        if admin is None:
            admin = Account.objects.create_superuser(
                email=ADMIN_EMAIL, password=ADMIN_PASSWORD, first_name="Demo", last_name="Admin"
            )
            password = ADMIN_PASSWORD
        if not StaffRole.objects.filter(organization=org, account=admin).exists():
            staff_member_add(
                organization=org,
                actor=Actor(account=admin),
                email=admin.email,
                role=StaffRole.Role.OWNER,
            )
        return admin, password

    def _token(self, org: Organization, actor: Actor) -> str:
        """A new demo token held by the demo admin; the previous one (shown once, on the
        last run) is revoked."""
        previous = AccessToken.objects.filter(
            organization=org,
            account=actor.account,
            kind=AccessToken.Kind.ADMIN,
            name=TOKEN_NAME,
            revoked_at__isnull=True,
        ).values_list("pk", flat=True)
        for token_id in list(previous):
            organization_token_revoke(
                organization=org, actor=actor, token_id=token_id, kind=AccessToken.Kind.ADMIN
            )
        issued = organization_token_issue(
            organization=org, actor=actor, name=TOKEN_NAME, kind=AccessToken.Kind.ADMIN
        )
        return issued.raw

    def _session(self, actor: Actor, member: Member) -> str:
        """A new messaging API session of ``member``; the earlier ones are revoked."""
        member_sessions_revoke(actor=actor, member=member)
        return member_session_issue(actor=actor, member=member).token

    # --- output -------------------------------------------------------------------------

    def _box(self, *, host: str, password: str | None, raw_token: str, session: str) -> None:
        base = f"http://{host}"
        if password:
            password_line = f"Password:   {password}"
        else:
            password_line = (
                "Password:   set on the first run (demo-admin-pass unless changed)\n"
                "            reset it: manage.py changepassword admin@demo.local"
            )
        lines = [
            "chatadmin demo is ready",
            "",
            f"Console:    {base}/console/",
            f"Admin site: {base}/admin/",
            f"API docs:   {base}/api/docs/",
            f"Login:      {ADMIN_EMAIL}",
            *password_line.split("\n"),
            f"API token:  {raw_token}",
            "            (organization 'demo'; shown once, replaced on the next run)",
            f"Try:        curl -H 'Authorization: Bearer {raw_token}' \\",
            f"              {base}/api/v2/channels",
            f"Session:    {session}",
            "            (messaging API as 'alice'; replaced on the next run)",
            f"Try:        curl -H 'Authorization: Bearer {session}' \\",
            f"              {base}/api/messaging/channels/",
        ]
        width = max(len(line) for line in lines)
        border = "+" + "-" * (width + 2) + "+"
        self.stdout.write(border)
        for line in lines:
            self.stdout.write(f"| {line.ljust(width)} |")
        self.stdout.write(border)
