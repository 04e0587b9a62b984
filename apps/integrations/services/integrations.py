"""Create, change, remove integrations, and regenerate their secrets: the one place their
fields are checked, whichever door (Rocket.Chat, Stackfield, the messaging API, the
console, ``manage.py create_webhook``) they come through.

Who may: a member acting for itself (a Rocket.Chat token's holder, a messaging API
session) needs ``integrations.<direction>.manage`` on ``messaging``, or
``integrations.<direction>.manage.own`` for the integrations it created
(apps.permissions). The console and the CLI check their own doors (staff roles).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.channels.models import Channel
from apps.channels.selectors.channels import channel_live_q
from apps.channels.services.channels import channel_users_add
from apps.core import egress
from apps.core.errors import DomainError
from apps.integrations import scripts
from apps.integrations.models import Integration
from apps.integrations.selectors import manage_scope
from apps.integrations.services import signing
from apps.members.models import Member
from apps.members.services import members_provision
from apps.organizations.models import Organization, hash_token

#: Rocket.Chat's outgoing events (the seed's list, and Rocket.Chat's newer
#: ``messageEdited`` and ``messageDeleted``); apps.integrations.services.outgoing maps the
#: domain events to them.
OUTGOING_EVENTS = (
    "sendMessage",
    "fileUploaded",
    "roomArchived",
    "roomCreated",
    "roomJoined",
    "roomLeft",
    "userCreated",
    "messageEdited",
    "messageDeleted",
)
#: Targets only an outgoing integration may name (every channel of a kind).
ALL_TARGETS = ("all_public_channels", "all_private_groups", "all_direct_messages")
RETRY_DELAYS = ("powers-of-ten", "powers-of-two", "increments-of-two")
MAX_TARGETS = 50
MAX_URLS = 10
MAX_URL_LENGTH = 2048
MAX_TRIGGER_WORDS = 50
MAX_TRIGGER_WORD_LENGTH = 100
MAX_SCRIPT_LENGTH = 64 * 1024
MAX_RETRY_COUNT = 10
MAX_USERNAME_LENGTH = 128

#: The fields a caller may set (model field names); the rest are the service's.
EDITABLE = frozenset(
    {
        "name",
        "enabled",
        "channel",
        "targets",
        "bot",
        "username",
        "alias",
        "avatar_url",
        "emoji",
        "override_channel",
        "script_enabled",
        "script",
        "event",
        "urls",
        "trigger_words",
        "trigger_word_anywhere",
        "target_room",
        "run_on_edits",
        "retry_failed_calls",
        "retry_count",
        "retry_delay",
        "impersonate_user",
        "outgoing_token",
    }
)


@dataclass(frozen=True)
class IssuedIntegration:
    """A created integration and its secret, shown once: the incoming URL token (None for
    outgoing ones), or an outgoing one's signing secret (``whsec_...``)."""

    integration: Integration
    token: str | None
    signing_secret: str | None = None


# --- who may ---------------------------------------------------------------------------


def check_manage(actor: Actor, *, direction: str, integration: Integration | None = None) -> None:
    """403 ``forbidden`` unless the acting member may manage this integration (or create
    one of ``direction`` when ``integration`` is None). Other actors pass: their doors
    checked them."""
    member = actor.member
    if member is None:
        return
    scope = manage_scope(member, direction)
    if scope == "all":
        return
    if scope == "own" and (integration is None or integration.created_by_id == member.pk):
        return
    raise DomainError("forbidden", f"You are not allowed to manage {direction} integrations.")


# --- field checks ----------------------------------------------------------------------


def _text(value: Any, field: str, max_length: int, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise DomainError("invalid_parameter", f"{field} must be a string.", field=field)
    value = value.strip()
    if required and not value:
        raise DomainError("missing_parameter", f"{field} is required.", field=field)
    if len(value) > max_length:
        raise DomainError(
            "invalid_parameter", f"{field} must be at most {max_length} characters.", field=field
        )
    return value


def _bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise DomainError("invalid_parameter", f"{field} must be true or false.", field=field)


def _string_list(value: Any, field: str, code: str) -> list[str]:
    """A list of strings, or one comma-separated string, as Rocket.Chat accepts both."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, list):
        items = value
    else:
        raise DomainError(code, f"{field} must be a string or a list of strings.", field=field)
    if not all(isinstance(item, str) for item in items):
        raise DomainError(code, f"{field} must be a string or a list of strings.", field=field)
    return [item.strip() for item in items if item.strip()]


def http_url(value: Any, field: str, code: str = "invalid_parameter") -> str:
    """An absolute http(s) URL (never fetched here: outgoing delivery checks its address)."""
    if not isinstance(value, str) or not value.strip():
        raise DomainError(code, f"{field} must be an http(s) URL.", field=field)
    value = value.strip()
    if len(value) > MAX_URL_LENGTH or any(ord(c) < 33 for c in value):
        raise DomainError(code, f"{field} must be an http(s) URL.", field=field)
    try:
        parts = urlsplit(value)
    except ValueError:
        raise DomainError(code, f"{field} must be an http(s) URL.", field=field) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DomainError(code, f"{field} must be an http(s) URL.", field=field)
    return value


def _outgoing_url(value: Any) -> str:
    """An outgoing URL: http(s), and not aimed at an address only this server can reach
    (apps.core.egress; 400 ``url_not_allowed``). A name that does not resolve yet is
    accepted: every delivery attempt checks again."""
    url = http_url(value, "urls", "invalid_urls")
    try:
        egress.url_check(url, unresolvable_ok=True)
    except egress.EgressRefused as exc:
        raise DomainError(
            "url_not_allowed",
            f"urls: {exc.message}; a webhook URL must reach a public address.",
            field="urls",
        ) from None
    return url


def channel_by_reference(organization: Organization, reference: str) -> Channel | None:
    """The live channel a ``#name`` target names: by its channelId, else by its name."""
    live = Channel.objects.filter(channel_live_q(), organization=organization)
    by_id = next(iter(live.filter(channel_id=reference).order_by()[:1]), None)  # unique
    return by_id or live.filter(display_name=reference).order_by("pk").first()


def _targets(
    organization: Organization, value: Any, *, direction: str, field: str = "channel"
) -> list[str]:
    """Rocket.Chat's ``channel``: each ``#name`` a live channel of the organization, each
    ``@userId`` a member; ``all_*`` only for outgoing integrations."""
    targets = _string_list(value, field, "invalid_channel")
    if len(targets) > MAX_TARGETS:
        raise DomainError("invalid_channel", f"At most {MAX_TARGETS} channels.", field=field)
    for target in targets:
        if target in ALL_TARGETS and direction == Integration.Direction.OUTGOING:
            continue
        if len(target) > 256:
            raise DomainError("invalid_channel", f"Invalid channel {target[:40]!r}.", field=field)
        prefix, name = target[:1], target[1:]
        if prefix not in ("#", "@"):
            raise DomainError(
                "invalid_channel_prefix",
                f"Invalid channel {target!r}: start it with # or @.",
                field=field,
            )
        if prefix == "#" and channel_by_reference(organization, name) is None:
            raise DomainError("invalid_channel", f"No channel {target!r}.", field=field)
        if (
            prefix == "@"
            and not Member.objects.filter(organization=organization, user_id=name).exists()
        ):
            raise DomainError("invalid_channel", f"No user {target!r}.", field=field)
    return list(dict.fromkeys(targets))


def bot_for_username(*, organization: Organization, actor: Actor, username: Any) -> Member:
    """The member an integration posts as: the user with this userId, provisioned as a
    bot member when missing. A deactivated or removed one is 400 ``invalid_username``."""
    username = _text(username, "username", MAX_USERNAME_LENGTH, required=True)
    if username.startswith("@"):
        username = username[1:]
    if not username or any(c.isspace() for c in username):
        raise DomainError("invalid_username", f"Invalid username {username!r}.", field="username")
    member = Member.objects.filter(organization=organization, user_id=username).first()
    if member is None:
        members_provision(
            organization=organization,
            rows=[Member(user_id=username, display_name=username, is_bot=True)],
            actor=actor,
        )
        member = Member.objects.get(organization=organization, user_id=username)
    if member.is_inactive:
        raise DomainError(
            "invalid_username", f"User {username!r} is deactivated.", field="username"
        )
    return member


def _check_script(fields: dict[str, Any], current: Integration | None) -> None:
    enabled = fields.get("script_enabled", current.script_enabled if current else False)
    if "script" in fields:
        fields["script"] = _text(fields["script"], "script", MAX_SCRIPT_LENGTH)
    script = fields.get("script", current.script if current else "")
    if enabled and not settings.CHATADMIN["INTEGRATION_SCRIPTS_ENABLED"]:
        raise DomainError(
            "invalid_parameter", "Scripts are turned off on this server.", field="scriptEnabled"
        )
    if "script" in fields or "script_enabled" in fields:
        fields["script_error"] = (scripts.script_check(script) or "") if script else ""


def _clean(
    organization: Organization,
    actor: Actor,
    fields: Mapping[str, Any],
    *,
    direction: str,
    current: Integration | None = None,
) -> dict[str, Any]:
    unknown = set(fields) - EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")  # a programming error
    out: dict[str, Any] = dict(fields)
    if "name" in out:
        out["name"] = _text(out["name"], "name", 200)
    for flag in (
        "enabled",
        "override_channel",
        "script_enabled",
        "trigger_word_anywhere",
        "run_on_edits",
        "retry_failed_calls",
        "impersonate_user",
    ):
        if flag in out:
            out[flag] = _bool(out[flag], flag)
    if "channel" in out and out["channel"] is not None:
        channel = out["channel"]
        if not isinstance(channel, Channel) or channel.organization_id != organization.pk:
            raise DomainError("channel_not_found", field="channelID")
    if "targets" in out:
        out["targets"] = _targets(organization, out["targets"], direction=direction)
    if "username" in out:
        out["bot"] = bot_for_username(
            organization=organization, actor=actor, username=out.pop("username")
        )
    if out.get("bot") is not None:
        bot = out["bot"]
        if not isinstance(bot, Member) or bot.organization_id != organization.pk:
            raise DomainError("user_not_found", field="userID")
        if bot.is_inactive:
            raise DomainError("invalid_username", "The bot user is deactivated.", field="userID")
    if "alias" in out:
        out["alias"] = _text(out["alias"], "alias", 255)
    if "emoji" in out:
        out["emoji"] = _text(out["emoji"], "emoji", 64)
    if "avatar_url" in out:
        avatar = _text(out["avatar_url"], "avatar", MAX_URL_LENGTH)
        out["avatar_url"] = http_url(avatar, "avatar") if avatar else ""
    _check_script(out, current)
    if "event" in out and out["event"] not in OUTGOING_EVENTS:
        raise DomainError(
            "invalid_event_type",
            f"event must be one of {', '.join(OUTGOING_EVENTS)}.",
            field="event",
        )
    if "urls" in out:
        urls = _string_list(out["urls"], "urls", "invalid_urls")
        if not urls or len(urls) > MAX_URLS:
            raise DomainError("invalid_urls", f"urls: between 1 and {MAX_URLS} URLs.", field="urls")
        out["urls"] = [_outgoing_url(url) for url in dict.fromkeys(urls)]
    if "trigger_words" in out:
        words = _string_list(out["trigger_words"], "triggerWords", "invalid_trigger_words")
        if len(words) > MAX_TRIGGER_WORDS or any(len(w) > MAX_TRIGGER_WORD_LENGTH for w in words):
            raise DomainError(
                "invalid_trigger_words",
                f"At most {MAX_TRIGGER_WORDS} trigger words of {MAX_TRIGGER_WORD_LENGTH} "
                "characters each.",
                field="triggerWords",
            )
        out["trigger_words"] = list(dict.fromkeys(words))
    if "target_room" in out:
        room = _text(out["target_room"], "targetRoom", 256)
        if room:
            try:
                _targets(organization, room, direction=Integration.Direction.INCOMING)
            except DomainError:
                raise DomainError(
                    "invalid_target_room", f"Invalid targetRoom {room!r}.", field="targetRoom"
                ) from None
        out["target_room"] = room
    if "retry_count" in out:
        count = out["retry_count"]
        if isinstance(count, bool) or not isinstance(count, int):
            raise DomainError(
                "invalid_parameter", "retryCount must be an integer.", field="retryCount"
            )
        if not 0 <= count <= MAX_RETRY_COUNT:
            raise DomainError(
                "invalid_parameter",
                f"retryCount: between 0 and {MAX_RETRY_COUNT}.",
                field="retryCount",
            )
    if "retry_delay" in out and out["retry_delay"] not in RETRY_DELAYS:
        raise DomainError(
            "invalid_parameter",
            f"retryDelay must be one of {', '.join(RETRY_DELAYS)}.",
            field="retryDelay",
        )
    if "outgoing_token" in out:
        out["outgoing_token"] = _text(out["outgoing_token"], "token", 255)
    return out


def _new_secret(flavor: str) -> str:
    """Stackfield's URLs are a uuid (the whole secret); the others a 256-bit token."""
    if flavor == Integration.Flavor.STACKFIELD:
        return str(uuid.uuid4())
    return secrets.token_urlsafe(32)


def _snapshot(integration: Integration) -> dict[str, Any]:
    return {
        "flavor": integration.flavor,
        "direction": integration.direction,
        "kind": integration.kind,
        "name": integration.name,
        "enabled": integration.enabled,
        "channel": integration.channel_id,
        "targets": integration.targets,
        "bot": integration.bot.user_id if integration.bot_id else None,
        "scriptEnabled": integration.script_enabled,
        "event": integration.event,
        "urls": integration.urls,
        "triggerWords": integration.trigger_words,
    }


def _join_bot(integration: Integration, actor: Actor) -> None:
    """The bot becomes a member of the channels it posts into (its bound channel and its
    ``#`` targets), so the posting rule lets it in; bans still apply."""
    if integration.bot_id is None:
        return
    channels: list[Channel] = []
    if integration.channel_id is not None:
        channels.append(integration.channel)
    for target in integration.targets:
        if target.startswith("#"):
            found = channel_by_reference(integration.organization, target[1:])
            if found is not None:
                channels.append(found)
    for channel in {c.pk: c for c in channels}.values():
        if channel.closed_at is None and channel.archived_at is None:
            channel_users_add(channel=channel, actor=actor, user_ids=[integration.bot.user_id])


# --- writes ----------------------------------------------------------------------------


@transaction.atomic
def integration_create(
    *,
    organization: Organization,
    actor: Actor,
    flavor: str,
    direction: str,
    kind: str = Integration.Kind.MESSAGE,
    **fields: Any,
) -> IssuedIntegration:
    """A new integration; an incoming one gets its secret (returned once, stored hashed).
    Audited ``integration.create``."""
    if flavor not in Integration.Flavor.values:
        raise ValueError(flavor)
    if direction not in Integration.Direction.values:
        raise DomainError("invalid_parameter", "type must be incoming or outgoing.", field="type")
    if kind not in Integration.Kind.values:
        raise DomainError("invalid_parameter", f"Unknown kind {kind!r}.", field="kind")
    check_manage(actor, direction=direction)
    cleaned = _clean(organization, actor, fields, direction=direction)
    token = _new_secret(flavor) if direction == Integration.Direction.INCOMING else None
    integration = Integration(
        organization=organization,
        flavor=flavor,
        direction=direction,
        kind=kind,
        created_by=actor.member,
        created_by_label=actor.label[:255],
        token_hash=hash_token(token) if token else None,
        token_prefix=token[:8] if token else "",
        **cleaned,
    )
    signing_secret = None if token else signing.signing_secret_set(integration)
    integration.save()
    _join_bot(integration, actor)
    audit_record(
        organization=organization,
        actor=actor,
        action="integration.create",
        target_type="integration",
        target_id=str(integration.pk),
        after=_snapshot(integration),
    )
    return IssuedIntegration(integration, token, signing_secret)


def _locked(integration: Integration) -> Integration:
    locked = (
        Integration.objects.select_for_update(of=("self",))  # bot, channel: outer joins
        .select_related("bot", "channel", "organization")
        .filter(pk=integration.pk)
        .first()
    )
    if locked is None:
        raise DomainError("integration_not_found", field="integrationId")
    return locked


@transaction.atomic
def integration_update(*, actor: Actor, integration: Integration, **fields: Any) -> Integration:
    """Change the given fields (the direction and flavor never change). Audited
    ``integration.update`` with before and after."""
    integration = _locked(integration)
    check_manage(actor, direction=integration.direction, integration=integration)
    cleaned = _clean(
        integration.organization,
        actor,
        fields,
        direction=integration.direction,
        current=integration,
    )
    before = _snapshot(integration)
    if cleaned.get("enabled") is True and not integration.enabled:
        # enabled again: the machinery's reason to disable it (and its failure clock) go
        integration.disabled_reason, integration.failing_since = "", None
    for name, value in cleaned.items():
        setattr(integration, name, value)
    integration.save()
    _join_bot(integration, actor)
    audit_record(
        organization=integration.organization,
        actor=actor,
        action="integration.update",
        target_type="integration",
        target_id=str(integration.pk),
        before=before,
        after=_snapshot(integration),
    )
    return integration


@transaction.atomic
def integration_remove(*, actor: Actor, integration: Integration) -> None:
    """Delete it with its history (its messages stay). Audited ``integration.remove``."""
    integration = _locked(integration)
    check_manage(actor, direction=integration.direction, integration=integration)
    before = _snapshot(integration)
    pk = integration.pk
    avatar = integration.avatar.name if integration.avatar else ""
    integration.delete()
    if avatar:  # its uploaded avatar (services.avatars) goes once the removal committed
        transaction.on_commit(partial(default_storage.delete, avatar), robust=True)
    audit_record(
        organization=integration.organization,
        actor=actor,
        action="integration.remove",
        target_type="integration",
        target_id=str(pk),
        before=before,
    )


@transaction.atomic
def integration_token_regenerate(*, actor: Actor, integration: Integration) -> str:
    """A new incoming secret (the old URL stops working at once), returned once.
    Audited ``integration.token.regenerate`` (the prefix, never the secret)."""
    integration = _locked(integration)
    check_manage(actor, direction=integration.direction, integration=integration)
    if not integration.is_incoming:
        raise DomainError(
            "invalid_parameter", "Only an incoming integration has a URL token.", field="type"
        )
    token = _new_secret(integration.flavor)
    before = {"tokenPrefix": integration.token_prefix}
    integration.token_hash = hash_token(token)
    integration.token_prefix = token[:8]
    integration.save(update_fields=["token_hash", "token_prefix", "updated_at"])
    audit_record(
        organization=integration.organization,
        actor=actor,
        action="integration.token.regenerate",
        target_type="integration",
        target_id=str(integration.pk),
        before=before,
        after={"tokenPrefix": integration.token_prefix},
    )
    return token


@transaction.atomic
def integration_signing_secret_rotate(*, actor: Actor, integration: Integration) -> str:
    """A new signing secret for an outgoing integration (returned once); the previous one
    keeps signing for ``WEBHOOK_SECRET_GRACE_HOURS``. Audited
    ``integration.secret.rotate`` (never the secret)."""
    integration = _locked(integration)
    check_manage(actor, direction=integration.direction, integration=integration)
    if integration.is_incoming:
        raise DomainError(
            "invalid_parameter", "Only an outgoing integration has a signing secret.", field="type"
        )
    now = timezone.now()
    grace = timedelta(hours=settings.CHATADMIN["WEBHOOK_SECRET_GRACE_HOURS"])
    had_secret = bool(integration.signing_secret)
    secret = signing.secret_new()
    integration.previous_signing_secret = integration.signing_secret
    integration.previous_signing_secret_until = now + grace if had_secret else None
    integration.signing_secret = signing.secret_encrypt(secret)
    integration.save(
        update_fields=[
            "signing_secret",
            "previous_signing_secret",
            "previous_signing_secret_until",
            "updated_at",
        ]
    )
    until = integration.previous_signing_secret_until
    audit_record(
        organization=integration.organization,
        actor=actor,
        action="integration.secret.rotate",
        target_type="integration",
        target_id=str(integration.pk),
        after={"previousValidUntil": until.isoformat() if until else None},
    )
    return secret
