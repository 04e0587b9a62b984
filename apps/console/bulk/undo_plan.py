"""Undo after a bulk action done in the request (apps/console/undo.py's API).

Every bulk action done in the request offers ONE "Undo" for all it did: deleting, hiding
or unhiding messages, dismissing queue items (their reports), mutes and channel bans in
one channel or several (one undo part per channel), global bans of one user or several;
the queue's actions also reopen the reports they resolved. A job (a large selection)
offers its undo on its own page (apps/moderation/bulk.py). See docs/console/bulk.md.
"""

from __future__ import annotations

from typing import Any

from apps.channels.models import Channel
from apps.console.undo import MAX_UNDO_TARGETS, UndoBefore, undo_before_many
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
    bulk.UNHIDE: "unhide",
    bulk.MUTE: "mute",
    bulk.CHANNEL_BAN: "channel_ban",
    bulk.GLOBAL_BAN: "ban",
}

Plan = tuple[str, dict[str, Any]]


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


def undo_plans(
    *, organization: Organization, spec: bulk.BulkSpec, unit: str, targets: list[Any]
) -> list[Plan]:
    """The ``(undo action, targets)`` parts of this bulk action's undo, for
    :func:`~apps.console.undo.undo_before_many` (empty: it offers none)."""
    action = UNDO_ACTIONS.get(spec.action)
    if action is None or not targets or len(targets) > MAX_UNDO_TARGETS:
        return []
    messages: list[str] = []
    report_pks: list[int] = []
    #: (userId, channelId or None) of each member acted on
    pairs: list[tuple[str, str | None]] = []
    if unit == bulk.REPORT:
        reports = _open_reports_of(organization, [int(t) for t in targets])
        if len(reports) > MAX_UNDO_TARGETS:
            return []
        report_pks = [r.pk for r in reports]
        with_message = [r for r in reports if r.target_message is not None]
        messages = sorted({str(r.target_message.public_id) for r in with_message})
        pairs = [
            (r.target_member.user_id, r.target_message.channel.channel_id) for r in with_message
        ]
        if action == "ban":
            pairs = [(r.target_member.user_id, None) for r in reports]
    elif unit == bulk.MESSAGE:
        messages = [
            str(p)
            for p in Message.objects.filter(organization=organization, pk__in=targets).values_list(
                "public_id", flat=True
            )
        ]
    elif unit == bulk.MEMBER_CHANNEL:
        users = dict(
            Member.objects.filter(
                organization=organization, pk__in={int(m) for m, _ in targets}
            ).values_list("pk", "user_id")
        )
        channels = dict(
            Channel.objects.filter(
                organization=organization, pk__in={int(c) for _, c in targets}
            ).values_list("pk", "channel_id")
        )
        pairs = [
            (users[int(m)], channels[int(c)])
            for m, c in targets
            if int(m) in users and int(c) in channels
        ]
    elif unit == bulk.MEMBER:
        channel_id = None
        if spec.channel_pk is not None:
            channel_id = (
                Channel.objects.filter(organization=organization, pk=spec.channel_pk)
                .values_list("channel_id", flat=True)
                .first()
            )
        pairs = [
            (user_id, channel_id)
            for user_id in Member.objects.filter(
                organization=organization, pk__in=targets
            ).values_list("user_id", flat=True)
        ]
    plans: list[Plan] = []
    if action in ("mute", "channel_ban"):
        by_channel: dict[str, set[str]] = {}
        for user_id, channel_id in pairs:
            if channel_id is not None:
                by_channel.setdefault(channel_id, set()).add(user_id)
        plans = [
            (action, {"channel": channel_id, "users": sorted(users)})
            for channel_id, users in sorted(by_channel.items())
        ]
    elif action == "ban" and pairs:
        plans = [(action, {"users": sorted({user_id for user_id, _ in pairs})})]
    elif action in ("delete", "hide", "unhide") and messages:
        plans = [(action, {"messages": messages})]
    if report_pks:
        if plans:
            plans[0][1]["reports"] = report_pks
        else:
            plans = [("dismiss", {"reports": report_pks})]
    return plans


def before_bulk(
    *, organization: Organization, spec: bulk.BulkSpec, unit: str, targets: list[Any]
) -> tuple[list[Plan], list[UndoBefore]]:
    """The undo's parts and their state before the action (call right before it)."""
    plans = undo_plans(organization=organization, spec=spec, unit=unit, targets=targets)
    return plans, undo_before_many(organization, plans)
