"""Two tenants with one of everything: ``acme`` (the organization under test, every id a
distinctive ``acme-...`` string so it is easy to spot in a response) and ``globex`` (the
other organization) with a credential of every kind: the Admin API v2's Bearer token,
the chatroom service's ``API-TOKEN`` and Personal-Access-Tokens, the messaging API's
member sessions (a plain member's and an org admin's) and Rocket.Chat's login (an admin
token held by the org admin's account, with its userId).

The integrations (issue 13), each with its key (``Tenant.keys``, the secret of a public
URL, shown once when made): a Rocket.Chat incoming integration posting into ``channel``
(``/hooks/{integrationId}/{token}``), a messaging API incoming webhook of ``channel``
(``/api/messaging/webhooks/{webhookID}/{webhookToken}``) and a Stackfield organization
URL (``/apiwh/{webhookId}``), all made by the org admin; and the console's Stackfield URL
(``integration_pk``).

What the messaging API reaches: ``channel`` is public (both members joined, the admin
its owner), ``private_channel`` private (the same two), ``message`` pinned and
bookmarked, a file message and an image message (their ``MessageFile`` rows are the
attachments; the image has a preview), a v2 role with permission rules held by the
plain member, and the plain member's status.

Plain builders, not fixtures: tests/robustness has no conftest of its own (another
suite of this folder may add one)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.test import Client, override_settings
from django.utils import timezone

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.calendar_events.services import calendar_event_create
from apps.channels.models import Channel, Membership
from apps.core import signing
from apps.integrations.models import Integration
from apps.integrations.services.integrations import integration_create
from apps.integrations.services.stackfield import stackfield_url_create
from apps.members.models import Member, Role
from apps.messages.models import Message, MessageFile, Reaction
from apps.messages.selectors.attachments import primary_and_preview
from apps.messages.services.bookmarks import message_bookmark
from apps.messages.services.messages import message_create_file, message_create_image
from apps.messages.services.pins import message_pin
from apps.moderation.models import BlacklistRecord, WhitelistRecord
from apps.organizations.models import AccessToken, Organization, StaffRole
from apps.permissions.services import role_rules_set
from apps.presence.models import Status
from apps.presence.services import status_set
from apps.reports.models import Report
from tests.builders import image_bytes, make_chatroom
from tests.factories import (
    AccountFactory,
    ChannelFactory,
    MessageFactory,
    OrganizationFactory,
    StaffRoleFactory,
)
from tests.personas import (
    MessagingClient,
    MessengerClient,
    RocketChatClient,
    TokenClient,
    api_token_client,
    issue_token,
    make_admin_client,
    make_member,
    personal_client,
    rocketchat_client,
    session_client,
)


@dataclass
class Tenant:
    org: Organization
    admin_member: Member
    member: Member
    channel: Channel
    message: Message
    chatroom: Channel
    rule: BlacklistRecord
    allow_rule: WhitelistRecord
    report: Report
    event_id: int
    # the messaging API's rows
    private_channel: Channel
    file_message: Message
    image_message: Message
    attachment: MessageFile  # the image message's attachment
    preview: MessageFile  # its preview (a thumbnail)
    file_attachment: MessageFile
    role: Role  # held by ``member``, with rules
    status: Status  # ``member``'s
    staff: dict[str, Account] = field(default_factory=dict)
    token_pk: int = 0
    #: An incoming integration (a Stackfield URL of the organization kind: no channel, no bot).
    integration_pk: int = 0
    #: Rocket.Chat's incoming integration (``integrationId``), the messaging API's incoming
    #: webhook (``webhookID``), both made by ``admin_member`` and posting into ``channel``.
    rc_hook_pk: int = 0
    webhook_pk: int = 0
    #: What the public routes take as their credential: the secrets of the public URLs by
    #: path parameter (surfaces.PATH_KEYS: ``token`` of /hooks/, ``webhookToken`` of the
    #: messaging API's, ``webhookId``, a Stackfield organization URL's uuid) and
    #: ``rc_token``, Rocket.Chat's login (an admin token held by ``admin_member``'s
    #: account: the ``rc_login`` credential and the body of /api/v1/login).
    keys: dict[str, str] = field(default_factory=dict)

    def secrets(self) -> list[str]:
        """Strings that only this tenant's rows contain and that no caller sends (ids that a
        caller sends may come back as an echo, or name the caller's own row: ids of the
        Admin API v2 are chosen by clients, per organization; the messaging API's path
        values, such as a role's name or an attachment's file name, are sent too)."""
        return [
            self.channel.display_name,
            self.channel.topic,
            str(self.message.public_id),
            self.message.data["text"],
            self.member.display_name,
            self.admin_member.display_name,
            self.rule.pattern,
            self.allow_rule.pattern,
            self.chatroom.display_name,
            self.private_channel.display_name,
            self.private_channel.topic,
            str(self.file_message.public_id),
            str(self.image_message.public_id),
            self.status.message,
            *(f"{self.org.slug}-secret-{name}" for name in INTEGRATION_NAMES),
            *self.keys.values(),
        ]

    def attachment_preview_ext(self) -> str:
        """The extension of the attachment's preview (``{ext}`` of its preview route)."""
        return self.preview.name.rpartition(".")[2].lower()

    def signed_link(self, member: Member, attachment: MessageFile | None = None) -> dict[str, str]:
        """The query of a valid signed attachment link for ``member`` (``sign``,
        ``userID``, ``expires``): the attachment routes' credential."""
        target = attachment if attachment is not None else self.attachment
        return signing.signed_params("attachment", target.pk, member.pk)


#: The integrations of a tenant, by the name part after ``<slug>-secret-``.
INTEGRATION_NAMES = ("rc-hook", "webhook", "stackfield")


def build_tenant(slug: str) -> Tenant:
    org = OrganizationFactory(slug=slug, name=slug.title())
    admin_member = make_member(
        org, Member.OrgRole.ADMIN, user_id=f"{slug}-ada", display_name=f"{slug}-secret-ada"
    )
    member = make_member(
        org, Member.OrgRole.MEMBER, user_id=f"{slug}-bob", display_name=f"{slug}-secret-bob"
    )
    channel = ChannelFactory(
        organization=org,
        channel_id=f"{slug}-secret-channel",
        display_name=f"{slug}-secret-display",
        visibility=Channel.Visibility.PUBLIC,
        topic=f"{slug}-secret-public-topic",
    )
    private_channel = ChannelFactory(
        organization=org,
        channel_id=f"{slug}-secret-private-channel",
        display_name=f"{slug}-secret-private",
        visibility=Channel.Visibility.PRIVATE,
        topic=f"{slug}-secret-private-topic",
    )
    now = timezone.now()
    for where in (channel, private_channel):
        for who in (admin_member, member):
            Membership.objects.create(
                organization=org,
                channel=where,
                member=who,
                joined_at=now,
                is_owner=who == admin_member,
            )
    message = MessageFactory(channel=channel, author=member, data={"text": f"{slug} secret"})
    Reaction.objects.create(organization=org, message=message, member=admin_member, name="like")
    by_member = Actor.for_member(member)
    file_message = message_create_file(
        organization=org,
        actor=by_member,
        channel=channel,
        upload=SimpleUploadedFile(f"{slug}-file.txt", b"some text", content_type="text/plain"),
        author=member,
    )
    image_message = message_create_image(
        organization=org,
        actor=by_member,
        channel=channel,
        upload=SimpleUploadedFile(f"{slug}-image.png", image_bytes(), content_type="image/png"),
        author=member,
    )
    attachment, preview = primary_and_preview(image_message)
    file_attachment, _ = primary_and_preview(file_message)
    assert attachment is not None and preview is not None and file_attachment is not None
    message_pin(
        organization=org,
        actor=Actor.for_member(admin_member),
        member=admin_member,
        message=message,
    )
    message_bookmark(member=member, message=message)
    role = Role.objects.create(organization=org, role_id=f"{slug}-role", permissions=["read"])
    role_rules_set(
        actor=Actor.system(),
        role=role,
        rules=[
            {
                "resource": f"messaging:channel:{channel.pk}",
                "operation": "message.pin",
                "access": "allow",
            },
            {"resource": "messaging:channel:*", "operation": "join", "access": "allow"},
        ],
    )
    member.roles = [role.role_id]
    member.save(update_fields=["roles"])
    status = status_set(member=member, icon=":wave:", message=f"{slug}-secret-status")
    chatroom = make_chatroom(org, f"{slug}-secret-room", [member])
    start = timezone.now() + timedelta(days=1)
    event = calendar_event_create(
        organization=org,
        actor=Actor.system(),
        title=f"{slug}-secret-event",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        participants=[member],
    )
    tenant = Tenant(
        org=org,
        admin_member=admin_member,
        member=member,
        channel=channel,
        message=message,
        chatroom=chatroom,
        rule=BlacklistRecord.objects.create(organization=org, pattern=f"{slug}-badword"),
        allow_rule=WhitelistRecord.objects.create(
            organization=org, pattern=f"{slug}-secret.example.com"
        ),
        report=Report.objects.create(
            organization=org, reporter=admin_member, target_member=member, target_message=message
        ),
        event_id=event.pk,
        private_channel=private_channel,
        file_message=file_message,
        image_message=image_message,
        attachment=attachment,
        preview=preview,
        file_attachment=file_attachment,
        role=role,
        status=status,
    )
    for staff_role in StaffRole.Role:
        tenant.staff[staff_role.value] = StaffRoleFactory(
            organization=org, role=staff_role, account__email=f"{staff_role.value}@{slug}.test"
        ).account
    issued = issue_token(
        kind=AccessToken.Kind.API,
        account=AccountFactory(email=f"api-spare@{slug}.test"),
        organization=org,
    )
    tenant.token_pk = issued.token.pk
    tenant.integration_pk = integration_create(
        organization=org,
        actor=Actor.system(),
        flavor=Integration.Flavor.STACKFIELD,
        direction=Integration.Direction.INCOMING,
        kind=Integration.Kind.ORGANIZATION,
        name=f"{slug}-secret-hook",
    ).integration.pk
    _build_integrations(tenant)
    return tenant


def _build_integrations(tenant: Tenant) -> None:
    """Rocket.Chat's login and the three public URLs of issue 13 (see the module doc)."""
    org, slug = tenant.org, tenant.org.slug
    by_admin = Actor.for_member(tenant.admin_member)
    rc_token = rocketchat_client(tenant.admin_member).token
    rc_hook = integration_create(
        organization=org,
        actor=by_admin,
        flavor=Integration.Flavor.ROCKETCHAT,
        direction=Integration.Direction.INCOMING,
        name=f"{slug}-secret-rc-hook",
        targets=[f"#{tenant.channel.channel_id}"],
        username=f"{slug}-hook-bot",
    )
    webhook = integration_create(
        organization=org,
        actor=by_admin,
        flavor=Integration.Flavor.MESSAGING,
        direction=Integration.Direction.INCOMING,
        name=f"{slug}-secret-webhook",
        channel=tenant.channel,
        bot=make_member(org, user_id=f"{slug}-webhook-bot", is_bot=True),
    )
    stackfield = stackfield_url_create(
        organization=org,
        actor=by_admin,
        kind=Integration.Kind.ORGANIZATION,
        name=f"{slug}-secret-stackfield",
    )
    tenant.rc_hook_pk = rc_hook.integration.pk
    tenant.webhook_pk = webhook.integration.pk
    assert rc_hook.token and webhook.token and stackfield.token
    tenant.keys = {
        "token": rc_hook.token,
        "webhookToken": webhook.token,
        "webhookId": stackfield.token,
        "rc_token": rc_token,
    }


@dataclass
class Credentials:
    """Every kind of credential of one organization."""

    admin_bearer: TokenClient
    api_token: MessengerClient
    member_pat: MessengerClient
    admin_pat: MessengerClient
    member_session: MessagingClient
    admin_session: MessagingClient
    rc_login: RocketChatClient

    def all(self) -> dict[str, Any]:
        return {
            "admin_bearer": self.admin_bearer,
            "api_token": self.api_token,
            "member_pat": self.member_pat,
            "admin_pat": self.admin_pat,
            "member_session": self.member_session,
            "admin_session": self.admin_session,
            "rc_login": self.rc_login,
        }


def credentials_of(tenant: Tenant) -> Credentials:
    slug = tenant.org.slug
    return Credentials(
        admin_bearer=make_admin_client(tenant.org, email=f"bearer@{slug}.test"),
        api_token=api_token_client(tenant.org, email=f"api@{slug}.test"),
        member_pat=personal_client(tenant.member),
        admin_pat=personal_client(tenant.admin_member),
        member_session=session_client(tenant.member),
        admin_session=session_client(tenant.admin_member),
        rc_login=RocketChatClient(tenant.keys["rc_token"], tenant.admin_member.user_id),
    )


def unthrottled() -> Any:
    """Settings without the limits that count calls rather than read them: the
    per-member throttle of ``POST /activity/`` and the one call per interval of an
    incoming URL (hundreds of calls by one member, or to one URL, would be 429 before
    their parameters are read)."""
    return override_settings(
        CHATADMIN={
            **settings.CHATADMIN,
            "ACTIVITY_PER_MEMBER_MINUTE": 10**9,
            "WEBHOOK_MIN_INTERVAL_SECONDS": 0,
        }
    )


@pytest.fixture(name="world")
def world_fixture(db: None) -> dict[str, Any]:
    """acme (under test), globex (the other organization) and globex's credentials."""
    acme = build_tenant("acme")
    globex = build_tenant("globex")
    return {"acme": acme, "globex": globex, "creds": credentials_of(globex).all()}


def console_client(account: Account) -> Client:
    client = Client()
    client.force_login(account)
    return client


# --- database snapshots ------------------------------------------------------------------

#: Columns that a read legitimately touches (bookkeeping, not data).
VOLATILE = {
    ("organizations", "accesstoken"): {"last_used_at"},
    ("members", "membersession"): {"last_used_at"},
    ("accounts", "account"): {"last_login"},
}


def _columns(model: type[models.Model]) -> list[str]:
    skip = VOLATILE.get((model._meta.app_label, model._meta.model_name), set())
    return [f.attname for f in model._meta.concrete_fields if f.attname not in skip]


def _digest(queryset: models.QuerySet[Any], columns: list[str]) -> tuple[int, str]:
    rows = list(queryset.order_by("pk").values_list(*columns))
    return len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()


def snapshot() -> dict[str, tuple[int, str]]:
    """Row count and checksum of every table (every model, in every app)."""
    return {
        model._meta.label: _digest(model._default_manager.all(), _columns(model))
        for model in django_apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


def _organization_path(model: type[models.Model]) -> str | None:
    """The lookup from ``model`` to its Organization (one or two hops), if any."""
    if model is Organization:
        return "pk"
    names = {f.name: f for f in model._meta.concrete_fields}
    if "organization" in names:
        return "organization"
    for f in model._meta.concrete_fields:
        target = f.related_model if f.is_relation else None
        if target is not None and any(
            g.name == "organization" for g in target._meta.concrete_fields
        ):
            return f"{f.name}__organization"
    return None


def tenant_snapshot(org: Organization) -> dict[str, tuple[int, str]]:
    """Row count and checksum of ``org``'s rows in every table that belongs to tenants."""
    found = {}
    for model in django_apps.get_models():
        lookup = _organization_path(model)
        if lookup is None or not model._meta.managed or model._meta.proxy:
            continue
        rows = model._default_manager.filter(**{lookup: org.pk})
        found[model._meta.label] = _digest(rows, _columns(model))
    return found


def changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(
        label for label in before.keys() | after.keys() if before.get(label) != after.get(label)
    )
