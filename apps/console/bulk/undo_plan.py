"""Undo after a bulk action done in the request (apps/console/undo.py's API).

A bulk action offers "Undo" when its targets fit one undo action: deleting or hiding
messages, dismissing queue items (their reports), a mute or a channel ban in ONE channel,
a global ban of ONE user; the queue's actions also reopen the reports they resolved.
Anything else (several channels, several global bans, unhide) is done without an offer;
a job (a large selection) never offers one. See docs/console/bulk.md.
"""

from __future__ import annotations

from typing import Any

from apps.channels.models import Channel
from apps.console.undo import MAX_UNDO_TARGETS, UndoBefore, undo_before
from apps.members.models import Member
from apps.messages.models import Message
from apps.moderation import bulk
from apps.organizations.models import Organization
from apps.reports.models import Report, report_open_q

#: Bulk actions and the undo action that reverses them.
UNDO_ACTIONS = {
    bulk.DISMISS: "dismiss",
    bulk.DELETE: "delete",
    bulk.HIDE: "hide",
    bulk.MUTE: "mute",
    bulk.CHANNEL_BAN: "channel_ban",
    bulk.GLOBAL_BAN: "ban",
}


def _open_reports_of(organization: Organization, report_pks: list[int]) -> list[Report]:
    """The open reports of the queue items (one query for the items, one for reports)."""
    items = list(
        Report.objects.filter(organization=organization, pk__in=report_pks).values_list(
            "target_member_id", "target_message_id"
        )
    )
    keys = set(items)
    return [
        r
        for r in Report.objects.filter(
            report_open_q(),
            organization=organization,
            target_member_id__in={member for member, _ in items},
        ).select_related("target_message__channel", "target_member")[: MAX_UNDO_TARGETS + 1]
        if (r.target_member_id, r.target_message_id) in keys
    ]


def undo_plan(
    *, organization: Organization, spec: bulk.BulkSpec, unit: str, targets: list[Any]
) -> tuple[str, dict[str, Any]] | None:
    """(undo action, targets) for :func:`~apps.console.undo.undo_before`, or None when
    this bulk action offers no undo."""
    action = UNDO_ACTIONS.get(spec.action)
    if action is None or not targets or len(targets) > MAX_UNDO_TARGETS:
        return None
    plan: dict[str, Any] = {}
    members: list[Member] = []
    channels: set[str] = set()
    if unit == bulk.REPORT:
        reports = _open_reports_of(organization, [int(t) for t in targets])
        if len(reports) > MAX_UNDO_TARGETS:
            return None
        plan["reports"] = [r.pk for r in reports]
        messages = [r.target_message for r in reports if r.target_message is not None]
        if action in ("delete", "hide"):
            plan["messages"] = sorted({str(m.public_id) for m in messages})
        members = list({r.target_member_id: r.target_member for r in reports}.values())
        channels = {m.channel.channel_id for m in messages}
    elif unit == bulk.MESSAGE:
        plan["messages"] = [
            str(p)
            for p in Message.objects.filter(organization=organization, pk__in=targets).values_list(
                "public_id", flat=True
            )
        ]
    elif unit == bulk.MEMBER_CHANNEL:
        members = list(Member.objects.filter(pk__in={int(m) for m, _ in targets}))
        channels = set(
            Channel.objects.filter(pk__in={int(c) for _, c in targets}).values_list(
                "channel_id", flat=True
            )
        )
    elif unit == bulk.MEMBER:
        members = list(Member.objects.filter(organization=organization, pk__in=targets))
        if spec.channel_pk is not None:
            channels = set(
                Channel.objects.filter(pk=spec.channel_pk).values_list("channel_id", flat=True)
            )
    if action in ("mute", "channel_ban"):
        if len(channels) != 1:
            return None
        plan["channel"] = next(iter(channels))
        plan["users"] = sorted(m.user_id for m in members)
    elif action == "ban":
        if len(members) != 1:
            return None
        plan["user"] = members[0].user_id
    return action, plan


def before_bulk(
    *, organization: Organization, spec: bulk.BulkSpec, unit: str, targets: list[Any]
) -> tuple[str, dict[str, Any], UndoBefore] | None:
    """The plan and the state before the action (call right before it), or None."""
    plan = undo_plan(organization=organization, spec=spec, unit=unit, targets=targets)
    if plan is None:
        return None
    action, undo_targets = plan
    return action, undo_targets, undo_before(organization, action, undo_targets)
