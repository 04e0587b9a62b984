""" "Undo" after the console's dismiss, mute, ban, hide and delete (issue 16).

After such an action the confirmation offers an "Undo" button for
``CHATADMIN["CONSOLE_UNDO_SECONDS"]`` (default 30): a CSRF-protected POST to
``/console/<org>/undo/`` carrying a signed, expiring token (``django.core.signing`` with
``max_age``) that names the action, the organization, the account that acted, the
targets, the audit entry of the action, what the state was before (to put back: undoing a
mute that replaced a longer one restores the longer one, not "unmuted") and what the
action left (to check: anything else means the state changed since).

Undo is an audited action of its own (``<action>.undo``, e.g. ``channel.users.mute.undo``,
by whoever undoes it, with the undone entry's id as ``undoes``), written by the domain's
``*_restore`` / ``reports_reopen`` functions. It is refused, with a clear message and
nothing changed: after the time; for another organization; **for anyone but the account
that acted** (the button is that moderator's "oops", not a second way to overrule a
colleague: others use unmute / unban / the audit log); twice; and when the state changed
since (someone unmuted and muted again, the ban expired and was swept...). Closing a
channel is irreversible and never offers undo (it keeps its typed confirmation).

API (console views, and helper "bulk" after a bulk action done in the request)::

    from apps.console.undo import offer_undo, undo_before

    before = undo_before(organization, "mute", {"channel": "general", "users": ["alice"]})
    channel_users_mute(...)                       # the action, through its service
    offer_undo(request, "mute", {"channel": "general", "users": ["alice"]}, before)

Call :func:`undo_before` right before the action and :func:`offer_undo` after it
succeeded (outside a transaction that may still roll back: an offer for a rolled-back
action is refused as "changed since" at undo time, but should not be shown). ``offer_undo``
adds the offer to the request's messages (``base.html`` renders it as an "Undo" form)
and returns whether it offered one: nothing is offered when nothing changed, or over
:data:`MAX_UNDO_TARGETS` targets. The actions and their targets:

==============  =======================================  =================================
action          targets                                  undo puts back
==============  =======================================  =================================
dismiss         ``reports`` (report ids)                 the reports open again
mute            ``channel``, ``users`` (userIds)         each member's previous mute there
channel_mute    ``channel``                              the channel's previous mute
channel_ban     ``channel``, ``users``                   previous bans, and membership
ban             ``user`` (userId) or ``users``           the previous global ban (or none)
delete          ``messages`` (messageIds)                the messages, undeleted
hide            ``messages``                             the messages, shown again
unhide          ``messages``                             the messages, hidden again
==============  =======================================  =================================

Every action also takes ``reports`` (report ids) and ``member_reports`` (a userId: the
open reports on that user and their messages): the reports the action may resolve (the
review item's, "also resolve this user's open reports"); the undo reopens those it
resolved.

A bulk action whose targets span several of these (mutes in several channels, global bans
of several users and the reports they resolved) offers ONE undo made of parts:
:func:`undo_before_many` / :func:`offer_undo_many` take a list of ``(action, targets)``;
the undo puts every part back, all or nothing. A token too big for a cookie-held flash
message (over :data:`TOKEN_MAX_CHARS`) keeps its content server-side, in the session of
the account that acted (which alone may undo), and signs only its key.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages as flash
from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse

from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership
from apps.channels.selectors.channels import channel_get
from apps.console.access import ConsoleView, safe_next
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.messages.models import Message
from apps.messages.services.restore import MESSAGES_RESTORES
from apps.moderation.services import (
    BAN_FIELDS,
    CHANNEL_BAN_FIELDS,
    CHANNEL_USERS_RESTORES,
    MUTE_FIELDS,
    channel_mute_restore,
    member_ban_restore,
    stamps_load,
    state_dump,
    state_load,
)
from apps.organizations.models import Organization
from apps.reports.models import Report, report_open_q
from apps.reports.services import REOPEN_FIELDS, reports_reopen

#: The message level of an undo offer (between SUCCESS 25 and WARNING 30):
#: ``templates/console/_flash.html`` renders messages of this level as an "Undo" form.
UNDO_LEVEL = 27
SALT = "chatadmin.console.undo"
#: Most targets one undo may carry (the token travels in the page and the session).
MAX_UNDO_TARGETS = 500
#: A longer token keeps its content in the session (the flash cookie holds 2 kB in all).
TOKEN_MAX_CHARS = 1000
#: The session key of the undo contents kept server-side: ``{key: [time, payload]}``.
SESSION_KEY = "console_undo"


@dataclass(frozen=True)
class _Action:
    #: The audit actions of the action itself (the entry an undo names as ``undoes``).
    audit: tuple[str, ...]
    #: The state field(s) of the action's targets (reports aside).
    fields: tuple[str, ...] = ()


ACTIONS: dict[str, _Action] = {
    "dismiss": _Action(("report.resolve",)),
    "mute": _Action(("channel.users.mute", "user.mute"), MUTE_FIELDS),
    "channel_mute": _Action(("channel.mute",), MUTE_FIELDS),
    "channel_ban": _Action(("channel.users.ban",), CHANNEL_BAN_FIELDS),
    "ban": _Action(("user.ban",), BAN_FIELDS),
    "delete": _Action(("message.delete",), ("deleted_at",)),
    "hide": _Action(("message.hide",), ("hidden_at",)),
    "unhide": _Action(("message.unhide",), ("hidden_at",)),
}


def undo_seconds() -> int:
    return int(settings.CHATADMIN["CONSOLE_UNDO_SECONDS"])


# --- states as JSON (they travel in the signed token) -------------------------------------


def _channel(organization: Organization, channel_id: str) -> Channel | None:
    try:
        return channel_get(organization=organization, channel_id=channel_id)
    except DomainError:
        return None


def _snapshot(
    organization: Organization,
    action: str,
    targets: Mapping[str, Any],
    report_ids: list[int] | None = None,
) -> dict:
    """The state of ``targets`` now, as JSON: ``{"users": {userId: state}}``,
    ``{"channel": state}``, ``{"member": state}``, ``{"messages": {messageId: iso}}``,
    and ``{"reports": {id: state}}`` (``report_ids``, else those of the targets)."""
    spec = ACTIONS[action]
    state: dict[str, Any] = {}
    if action in ("mute", "channel_ban", "channel_mute"):
        channel = _channel(organization, str(targets.get("channel") or ""))
        if channel is not None and action == "channel_mute":
            state["channel"] = state_dump(channel, spec.fields)
        elif channel is not None:
            users = [str(u) for u in targets.get("users") or []]
            rows = Membership.objects.filter(
                channel=channel, member__user_id__in=users
            ).select_related("member")
            found = {row.member.user_id: state_dump(row, spec.fields) for row in rows}
            empty = {f: "" if f == "ban_reason" else None for f in spec.fields}
            state["users"] = {u: found.get(u, empty) for u in users}
    elif action == "ban" and "users" in targets:
        users = [str(u) for u in targets.get("users") or []]
        state["members"] = {
            member.user_id: state_dump(member, spec.fields)
            for member in Member.objects.filter(organization=organization, user_id__in=users)
        }
    elif action == "ban":
        member = Member.objects.filter(
            organization=organization, user_id=str(targets.get("user") or "")
        ).first()
        if member is not None:
            state["member"] = state_dump(member, spec.fields)
    elif action in ("delete", "hide", "unhide"):
        field = spec.fields[0]
        ids = [str(m) for m in targets.get("messages") or []]
        state["messages"] = {
            str(public_id): value.isoformat() if value else None
            for public_id, value in Message.objects.filter(
                organization=organization, public_id__in=ids
            ).values_list("public_id", field)
        }
    if report_ids is None:
        report_ids = [int(r) for r in targets.get("reports") or []]
        if targets.get("member_reports"):
            report_ids += Report.objects.filter(
                report_open_q(),
                organization=organization,
                target_member__user_id=str(targets["member_reports"]),
            ).values_list("pk", flat=True)[:MAX_UNDO_TARGETS]
    if report_ids:
        state["reports"] = {
            str(report.pk): state_dump(report, REOPEN_FIELDS)
            for report in Report.objects.filter(organization=organization, pk__in=report_ids)
        }
    return state


@dataclass(frozen=True)
class UndoBefore:
    """What :func:`undo_before` saw, for :func:`offer_undo`."""

    organization: Organization
    action: str
    state: dict[str, Any]


def _count(targets: Mapping[str, Any]) -> int:
    return sum(len(v) for v in targets.values() if isinstance(v, list | tuple)) + 1


def undo_before(organization: Organization, action: str, targets: Mapping[str, Any]) -> UndoBefore:
    """The state of ``targets`` before ``action`` (call it right before the action)."""
    if action not in ACTIONS:
        raise ValueError(f"no undo for {action!r} (closing a channel is irreversible)")
    if _count(targets) > MAX_UNDO_TARGETS:
        return UndoBefore(organization, action, {})
    return UndoBefore(organization, action, _snapshot(organization, action, targets))


def _changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """(restore, expected): for each part, the targets the action changed, with their
    state before (to put back) and after (to check)."""
    restore: dict[str, Any] = {}
    expected: dict[str, Any] = {}
    for part in ("channel", "member"):
        if part in before and part in after and before[part] != after[part]:
            restore[part], expected[part] = before[part], after[part]
    for part in ("users", "members", "messages"):
        old, new = before.get(part) or {}, after.get(part) or {}
        changed = [key for key in old if key in new and old[key] != new[key]]
        if changed:
            restore[part] = {key: old[key] for key in changed}
            expected[part] = {key: new[key] for key in changed}
    old, new = before.get("reports") or {}, after.get("reports") or {}
    resolved = [
        key
        for key in old
        if key in new and old[key]["state"] == Report.State.OPEN and new[key] != old[key]
    ]
    if resolved:
        restore["reports"] = {key: old[key] for key in resolved}
        expected["reports"] = {key: new[key] for key in resolved}
    return restore, expected


def _names(names: Sequence[str]) -> str:
    """``alice, bob`` (at most 5 names, then `` and 3 more``)."""
    names = sorted(set(names))
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return ", ".join(names[:5]) + more


def _label(action: str, targets: Mapping[str, Any], restore: Mapping[str, Any]) -> str:
    users = ", ".join(sorted(restore.get("users") or [])[:5])
    channel = targets.get("channel") or ""
    count = len(restore.get("messages") or [])
    messages_text = f"{count} message{'s' if count != 1 else ''}"
    text = {
        "dismiss": "",
        "mute": f"the mute of {users} in {channel}",
        "channel_mute": f"the mute of channel {channel}",
        "channel_ban": f"the ban of {users} from {channel}",
        "ban": f"the ban of {targets.get('user') or _names(restore.get('members') or [])} "
        "everywhere",
        "delete": f"deleting {messages_text}",
        "hide": f"hiding {messages_text}",
        "unhide": f"showing {messages_text}",
    }[action]
    if action in ("mute", "channel_ban") and len(restore.get("users") or []) > 5:
        text += f" (and {len(restore['users']) - 5} more)"
    reports = len(restore.get("reports") or [])
    if reports:
        noun = f"{reports} report{'s' if reports != 1 else ''}"
        text = f"{text} (and {noun} resolved)" if text else f"resolving {noun}"
    return text


def _entry_id(request: HttpRequest, organization: Organization, action: str) -> int | None:
    """The audit entry the action just wrote (this account's newest of its kind)."""
    return (
        AuditEntry.objects.filter(
            organization=organization,
            actor_account=request.user.pk,
            action__in=ACTIONS[action].audit,
        )
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )


def _part(
    request: HttpRequest, action: str, targets: Mapping[str, Any], before: UndoBefore
) -> dict[str, Any] | None:
    """One undoable part of an action done just now (None: it changed nothing)."""
    if before.action != action:
        raise ValueError(f"undo_before was taken for {before.action!r}, not {action!r}")
    if not before.state:
        return None
    organization = before.organization
    report_ids = [int(pk) for pk in before.state.get("reports") or {}]
    restore, expected = _changes(before.state, _snapshot(organization, action, targets, report_ids))
    if not restore:
        return None
    clean_targets = {
        k: ([str(x) for x in v] if isinstance(v, list | tuple) else str(v))
        for k, v in targets.items()
    }
    return {
        "a": action,
        "e": _entry_id(request, organization, action),
        "t": clean_targets,
        "b": restore,
        "x": expected,
        "l": _label(action, clean_targets, restore),
    }


def _many_label(parts: Sequence[Mapping[str, Any]]) -> str:
    """One label for several parts: ``the mute of alice, bob in general, random``."""
    if len(parts) == 1:
        return str(parts[0]["l"])
    texts = []
    for action in ACTIONS:
        mine = [p for p in parts if p["a"] == action]
        users = [u for p in mine for u in (p["b"].get("users") or p["b"].get("members") or [])]
        users += [p["t"]["user"] for p in mine if p["t"].get("user")]
        channels = _names([p["t"]["channel"] for p in mine if p["t"].get("channel")])
        count = sum(len(p["b"].get("messages") or []) for p in mine)
        messages_text = f"{count} message{'s' if count != 1 else ''}"
        if not mine or (action == "dismiss" and not users and not count):
            continue
        texts.append(
            {
                "dismiss": "",
                "mute": f"the mute of {_names(users)} in {channels}",
                "channel_mute": f"the mute of channel {channels}",
                "channel_ban": f"the ban of {_names(users)} from {channels}",
                "ban": f"the ban of {_names(users)} everywhere",
                "delete": f"deleting {messages_text}",
                "hide": f"hiding {messages_text}",
                "unhide": f"showing {messages_text}",
            }[action]
        )
    text = "; ".join(t for t in texts if t)
    reports = sum(len(p["b"].get("reports") or []) for p in parts)
    if reports:
        noun = f"{reports} report{'s' if reports != 1 else ''}"
        text = f"{text} (and {noun} resolved)" if text else f"resolving {noun}"
    return text


def _seal(request: HttpRequest, payload: dict[str, Any]) -> str:
    """The signed token of ``payload``; a long one keeps its content in the session and
    signs only its key (with the organization and the account, checked first)."""
    token = signing.dumps(payload, salt=SALT, compress=True)
    if len(token) <= TOKEN_MAX_CHARS:
        return token
    now = time.time()
    kept = {
        key: entry
        for key, entry in (request.session.get(SESSION_KEY) or {}).items()
        if now - entry[0] < undo_seconds()
    }
    key = secrets.token_urlsafe(12)
    kept[key] = [now, payload]
    request.session[SESSION_KEY] = kept
    return signing.dumps({"o": payload["o"], "u": payload["u"], "s": key}, salt=SALT)


def offer_undo_many(
    request: HttpRequest,
    plans: Sequence[tuple[str, Mapping[str, Any]]],
    befores: Sequence[UndoBefore],
) -> bool:
    """Offer ONE "Undo" for several actions done just now (``plans``: ``(action,
    targets)`` as for :func:`offer_undo`; ``befores``: :func:`undo_before_many`'s)
    that puts them all back, all or nothing; False when there is nothing to undo."""
    if not befores or not request.user.is_authenticated:
        return False
    parts = [
        part
        for (action, targets), before in zip(plans, befores, strict=True)
        if (part := _part(request, action, targets, before)) is not None
    ]
    if not parts:
        return False
    label = _many_label(parts)
    payload = {"o": befores[0].organization.pk, "u": request.user.pk, "p": parts, "l": label}
    token = _seal(request, payload)
    flash.add_message(
        request, UNDO_LEVEL, f"You can undo {label} for {undo_seconds()} s.", extra_tags=token
    )
    return True


def undo_before_many(
    organization: Organization, plans: Sequence[tuple[str, Mapping[str, Any]]]
) -> list[UndoBefore]:
    """:func:`undo_before` of each ``(action, targets)`` (none when they carry more than
    :data:`MAX_UNDO_TARGETS` targets in all)."""
    if sum(_count(targets) for _, targets in plans) > MAX_UNDO_TARGETS + len(plans):
        return []
    return [undo_before(organization, action, targets) for action, targets in plans]


def offer_undo(
    request: HttpRequest, action: str, targets: Mapping[str, Any], before: UndoBefore
) -> bool:
    """Offer "Undo" for ``action`` (done just now on ``targets``, whose earlier state is
    ``before``) in the request's messages; False when there is nothing to undo."""
    if before.action != action:
        raise ValueError(f"undo_before was taken for {before.action!r}, not {action!r}")
    return offer_undo_many(request, [(action, targets)], [before])


#: The review item's actions (apps/console/review/forms.py) and their undo actions.
REVIEW_ACTIONS = {"dismiss": "dismiss", "delete": "delete", "mute": "mute"}
REVIEW_ACTIONS |= {"channel_ban": "channel_ban", "global_ban": "ban"}


def review_undo_targets(
    report: Report, data: Mapping[str, Any], reports: Sequence[Report]
) -> tuple[str, dict[str, Any]]:
    """(action, targets) for :func:`undo_before` / :func:`offer_undo` of a review item's
    action (``data``: its form's cleaned data; ``reports``: the open reports it resolves;
    the user's other open reports count too, for "also resolve")."""
    action = REVIEW_ACTIONS.get(data.get("action") or "", "dismiss")
    member, message = report.target_member, report.target_message
    targets: dict[str, Any] = {
        "reports": [r.pk for r in reports],
        "member_reports": member.user_id,
    }
    if action in ("mute", "channel_ban"):
        channel_id = message.channel.channel_id if message is not None else data.get("channel")
        targets |= {"channel": str(channel_id or "").strip(), "users": [member.user_id]}
    elif action == "ban":
        targets["user"] = member.user_id
    elif action == "delete" and message is not None:
        targets["messages"] = [str(message.public_id)]
    return action, targets


# --- the undo itself ------------------------------------------------------------------------


class UndoRefused(Exception):
    """Why an undo is refused (shown as is; nothing was changed)."""


def undo_payload(
    token: str,
    *,
    organization: Organization,
    account_pk: int,
    session: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The token's content (``session``: where a long one keeps it), or UndoRefused:
    expired, forged, another organization's or another account's."""
    seconds = undo_seconds()
    try:
        payload = signing.loads(token, salt=SALT, max_age=seconds)
    except signing.SignatureExpired:
        raise UndoRefused(
            f"Too late to undo: undo is possible for {seconds} s after the action. "
            "Nothing was changed."
        ) from None
    except signing.BadSignature:
        raise UndoRefused("This undo is not valid. Nothing was changed.") from None
    if payload.get("o") != organization.pk:
        raise UndoRefused("This undo belongs to another organization. Nothing was changed.")
    if payload.get("u") != account_pk:
        raise UndoRefused("Only the moderator who did it may undo an action. Nothing was changed.")
    if "s" in payload:
        kept = ((session or {}).get(SESSION_KEY) or {}).get(str(payload["s"]))
        if not kept:
            raise UndoRefused(
                "This undo is no longer available in this session. Nothing was changed."
            )
        payload = kept[1]
    parts = payload.get("p") or [payload]
    if not parts or any(part.get("a") not in ACTIONS for part in parts):
        raise UndoRefused("This undo is not valid. Nothing was changed.")
    return payload


def _by_key(part: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {key: state_load(state) for key, state in part.items()}


@transaction.atomic
def undo_perform(view: ConsoleView, payload: Mapping[str, Any]) -> str:
    """Put everything back (all or nothing, each part audited by its domain function);
    returns the label. Raises UndoRefused (twice) or DomainError (changed since)."""
    parts = payload.get("p") or [payload]
    undoes = [part["e"] for part in parts if part.get("e") is not None]
    if undoes and (
        AuditEntry.objects.filter(organization=view.organization, after__undoes__in=undoes)
        .filter(action__endswith=".undo")
        .exists()
    ):
        raise UndoRefused("This action was already undone. Nothing was changed.")
    for part in parts:
        _perform_part(view, part)
    return str(payload.get("l") or parts[0]["a"])


def _perform_part(view: ConsoleView, part: Mapping[str, Any]) -> None:
    organization, actor = view.organization, view.actor
    undoes = part.get("e")
    action, targets = part["a"], part["t"]
    restore, expected = part["b"], part["x"]
    if "users" in restore or "channel" in restore:
        channel = channel_get(organization=organization, channel_id=targets["channel"])
        if action in ("mute", "channel_ban"):
            CHANNEL_USERS_RESTORES[action](
                channel=channel,
                actor=actor,
                expected=_by_key(expected["users"]),
                restore=_by_key(restore["users"]),
                undoes=undoes,
            )
        elif action == "channel_mute":
            channel_mute_restore(
                channel=channel,
                actor=actor,
                expected=state_load(expected["channel"]),
                restore=state_load(restore["channel"]),
                undoes=undoes,
            )
    bans = dict(restore.get("members") or {})
    if "member" in restore:
        bans[str(targets["user"])] = restore["member"]
        expected = {**expected, "members": {str(targets["user"]): expected["member"]}}
    if bans:
        members = {
            m.user_id: m
            for m in Member.objects.filter(organization=organization, user_id__in=list(bans))
        }
        for user_id in sorted(bans):
            if user_id not in members:
                raise DomainError("conflict", f"No user {user_id!r} any more.")
            member_ban_restore(
                member=members[user_id],
                actor=actor,
                expected=state_load(expected["members"][user_id]),
                restore=state_load(bans[user_id]),
                undoes=undoes,
            )
    if "messages" in restore:
        MESSAGES_RESTORES[action](
            organization=organization,
            actor=actor,
            expected=stamps_load(expected["messages"]),
            restore=stamps_load(restore["messages"]),
            undoes=undoes,
        )
    if "reports" in restore:
        reports_reopen(
            actor=actor,
            organization=organization,
            expected={int(pk): state_load(state) for pk, state in expected["reports"].items()},
            undoes=undoes,
        )


class UndoView(ConsoleView):
    """POST ``token`` (and ``next``, the page to go back to): undo, or say why not."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        slug = self.organization.slug
        target = safe_next(
            request, slug, request.POST.get("next"), reverse("console:dashboard", args=[slug])
        )
        try:
            payload = undo_payload(
                request.POST.get("token", ""),
                organization=self.organization,
                account_pk=request.user.pk,
                session=request.session,
            )
            label = undo_perform(self, payload)
        except UndoRefused as refusal:
            flash.error(request, str(refusal))
        except DomainError as exc:
            flash.error(request, f"Could not undo: {exc.message}")
        else:
            flash.success(request, f"Undone: {label}.")
        return redirect(target)


urlpatterns: Sequence[Any] = [
    path("undo/", UndoView.as_view(), name="undo"),
]
