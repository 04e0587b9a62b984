"""The beat sweeps that make channel mute, member mute and channel ban expiries final
(DESIGN.md invariant 2: reads honour an expiry at once; these record it).
"""

from __future__ import annotations

import logging
from typing import Any

from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.channels.models import Channel, Membership
from apps.channels.services.channels import (
    AUDIT_TARGET,
    channel_event_record,
)
from apps.core.sweeps import iso as _iso
from apps.core.sweeps import sweep_expired
from apps.events.models import EventType

logger = logging.getLogger(__name__)


# --- expiry sweeps ---------------------------------------------------------------------------
# Each claims a batch of expired rows with select_for_update(skip_locked=True) (the
# partial indexes on the expiry columns, so idle channels are reached as fast as busy
# ones), lifts each row with an UPDATE whose WHERE repeats the expiry condition (so a
# concurrent sweep, or an admin who renewed the mute meanwhile, is never overridden and
# each expiry is audited once), and records an audit entry by the system actor and an
# event per lifted row, in the same short transaction.


def channel_mutes_expire(*, batch_size: int | None = None) -> int:
    """Lift expired channel mutes (``channel.unmute.expired``, ``channel.unmuted``)."""
    system = Actor.system()

    def lift(channel: Channel) -> None:
        audit_record(
            organization=channel.organization,
            actor=system,
            action="channel.unmute.expired",
            target_type=AUDIT_TARGET,
            target_id=channel.channel_id,
            before={
                "mutedAt": _iso(channel.muted_at),
                "muteTimeout": _iso(channel.mute_expires_at),
            },
            after={"isMuted": False, "muteTimeout": None},
        )
        channel_event_record(
            channel,
            EventType.CHANNEL_UNMUTED,
            system,
            reason="expired",
            mutedAt=_iso(channel.muted_at),
            expiredAt=_iso(channel.mute_expires_at),
        )

    lifted = sweep_expired(
        queryset=Channel.objects.select_related("organization"),
        since="muted_at",
        until="mute_expires_at",
        clear={"muted_at": None, "mute_expires_at": None},
        lift=lift,
        batch_size=batch_size,
    )
    if lifted:
        logger.info("lifted %s expired channel mutes", lifted)
    return lifted


def _membership_sweep(
    *,
    batch_size: int | None,
    flag: str,
    expiry: str,
    clear: dict[str, Any],
    action: str,
    event_type: str,
) -> int:
    """The member mute and channel ban sweeps: one Membership row per lifted thing."""
    system = Actor.system()

    def lift(row: Membership) -> None:
        since, until = _iso(getattr(row, flag)), _iso(getattr(row, expiry))
        audit_record(
            organization=row.channel.organization,
            actor=system,
            action=action,
            target_type=AUDIT_TARGET,
            target_id=row.channel.channel_id,
            reason=row.ban_reason if flag == "banned_at" else "",
            before={"userIds": [row.member.user_id], "since": since, "until": until},
            after={"userIds": [row.member.user_id], "lifted": True},
        )
        channel_event_record(
            row.channel,
            event_type,
            system,
            userIds=[row.member.user_id],
            reason="expired",
            since=since,
            expiredAt=until,
        )

    lifted = sweep_expired(
        queryset=Membership.objects.select_related("channel", "channel__organization", "member"),
        since=flag,
        until=expiry,
        clear=clear,
        lift=lift,
        batch_size=batch_size,
    )
    if lifted:
        logger.info("%s: lifted %s", action, lifted)
    return lifted


def channel_users_mutes_expire(*, batch_size: int | None = None) -> int:
    """Lift expired member mutes (``channel.users.unmute.expired``, ``user.unmuted``)."""
    return _membership_sweep(
        batch_size=batch_size,
        flag="muted_at",
        expiry="mute_expires_at",
        clear={"muted_at": None, "mute_expires_at": None},
        action="channel.users.unmute.expired",
        event_type=EventType.USER_UNMUTED,
    )


def channel_users_bans_expire(*, batch_size: int | None = None) -> int:
    """Lift expired channel bans (``channel.users.unban.expired``, ``member.unbanned``);
    the users are not re-added."""
    return _membership_sweep(
        batch_size=batch_size,
        flag="banned_at",
        expiry="ban_expires_at",
        clear={"banned_at": None, "ban_expires_at": None, "ban_reason": ""},
        action="channel.users.unban.expired",
        event_type=EventType.MEMBER_UNBANNED,
    )
