"""Console pages: the user list and a user's page with its actions.

A userId may contain "/", so a user's page is ``users/<path:user_id>/`` and its actions
are POSTs to that same URL naming an ``action`` (ban, unban, mute, unmute, clear_flags,
edit): no suffix could be told apart from the end of a userId. Every action calls the
same service as the Admin API and redirects back with a success or error message.
"""

from __future__ import annotations

import functools
import hashlib
import json
import operator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages as flash
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.channels.models import Membership, membership_current_q
from apps.channels.selectors.channels import channel_get, channel_live_q
from apps.channels.services import channels as channel_services
from apps.console.access import ConsoleView
from apps.console.channels.forms import form_error_text
from apps.console.links import Link
from apps.console.messages.views import message_rows, message_table, table_messages
from apps.console.paging import console_page
from apps.console.selectors import audit_on_user
from apps.console.static_forms import static_form_html
from apps.console.undo import offer_undo, undo_before
from apps.console.users.forms import (
    UserBanForm,
    UserEditForm,
    UserMuteForm,
    UserSearchForm,
    UserUnbanForm,
    UserUnmuteForm,
)
from apps.core.errors import DomainError
from apps.core.sweeps import timed_active_q
from apps.members import services as member_services
from apps.members.models import Member, MemberSession
from apps.members.selectors import member_get_detailed, member_list, role_list
from apps.messages.selectors.messages import message_visible
from apps.reports.models import Report, report_open_q
from apps.reports.services import reports_resolve_for_member

#: Rows shown in each of the lists on a user's page.
LIST_LIMIT = 50
#: Channels offered in the "mute in a channel" picker.
CHANNEL_CHOICES_LIMIT = 200
#: Roles offered as checkboxes.
ROLE_CHOICES_LIMIT = 500
RECENT_MESSAGES = 20
#: Entries of the user's moderation history shown on their page (newest first).
HISTORY_LIMIT = 50
#: How long after a ban or mute began its audit entry may have been written.
AUDIT_WINDOW = timedelta(minutes=5)

#: "newest" walks the primary key; "name" uses the (organization, display_name) index.
USER_SORTS = {"newest": "-pk", "name": "display_name", "userId": "user_id"}
SORT_LABELS = [("newest", "Newest"), ("name", "Display name"), ("userId", "userId")]


#: The list's ``state`` filter ("any": none). A removed member may also be deactivated;
#: it shows as removed.
MEMBER_STATES = {
    "active": Q(deactivated_at__isnull=True, removed_at__isnull=True),
    "deactivated": Q(deactivated_at__isnull=False, removed_at__isnull=True),
    "removed": Q(removed_at__isnull=False),
}
#: Sessions listed on a user's page (newest first).
SESSION_LIMIT = 50


def user_url(slug: str, user_id: str) -> str:
    return reverse("console:user", kwargs={"org": slug, "user_id": user_id})


def user_search(organization: Any, params: Any) -> tuple[UserSearchForm, dict[str, str], Any]:
    """The user list's search (its GET parameters): the form, the filters and the
    queryset; the one way the list and its bulk actions (apps/console/bulk) filter."""
    form = UserSearchForm(params or None)
    data = form.cleaned_data if form.is_valid() else {}
    filters = {"search": data.get("q") or "", "filter": data.get("filter") or "all"}
    queryset = member_list(organization=organization, filters=filters)
    state = data.get("state") or "any"
    if state in MEMBER_STATES:
        filters["state"] = state
        queryset = queryset.filter(MEMBER_STATES[state])
    return form, filters, queryset


class UserListView(ConsoleView):
    section = "users"

    def get(self, request: HttpRequest) -> HttpResponse:
        form, filters, queryset = user_search(self.organization, request.GET)
        digest = hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()[:16]
        page = console_page(
            request,
            queryset,
            scope=f"users:{self.organization.pk}:{digest}",
            sorts=USER_SORTS,
            default_sort="newest",
        )
        now = timezone.now()
        user_link = Link("console:user", self.organization.slug)
        rows = [(m, m.is_globally_banned(now), user_link(m.user_id)) for m in page.items]
        return self.render(
            "console/users/list.html", form=form, page=page, rows=rows, sorts=SORT_LABELS
        )


@dataclass
class Restriction:
    """An active ban or mute, with the audit entry that set it (if found)."""

    kind: str  # "ban" (global), "channel ban", "mute"
    channel_id: str | None
    since: datetime
    until: datetime | None
    reason: str
    action: str
    entry: AuditEntry | None = None
    #: The channel's page and its unban action (formatted once per page: ``Link``).
    channel_url: str = ""
    unban_url: str = ""

    def matches(self, entry: AuditEntry, user_id: str) -> bool:
        if entry.action != self.action:
            return False
        if not (self.since - timedelta(seconds=1) <= entry.created_at <= self.since + AUDIT_WINDOW):
            return False
        if self.channel_id is None:
            return entry.target_type == "user" and entry.target_id == user_id
        after = entry.after if isinstance(entry.after, dict) else {}
        return (
            entry.target_type == "channel"
            and entry.target_id == self.channel_id
            and user_id in (after.get("userIds") or [])
        )

    def audit_q(self, user_id: str) -> Q:
        window = Q(
            created_at__gte=self.since - timedelta(seconds=1),
            created_at__lte=self.since + AUDIT_WINDOW,
            action=self.action,
        )
        if self.channel_id is None:
            return window & Q(target_type="user", target_id=user_id)
        return window & Q(target_type="channel", target_id=self.channel_id)


def attach_audit(organization: Any, member: Member, restrictions: list[Restriction]) -> None:
    """Find, in ONE query, the latest audit entry that set each restriction: the entry
    of the same action on the same target written just after the state began."""
    if not restrictions:
        return
    condition = functools.reduce(operator.or_, (r.audit_q(member.user_id) for r in restrictions))
    entries = list(
        AuditEntry.objects.filter(condition, organization=organization).order_by(
            "-created_at", "-pk"
        )[: len(restrictions) * 20]
    )
    for restriction in restrictions:
        restriction.entry = next(
            (e for e in entries if restriction.matches(e, member.user_id)), None
        )


@dataclass
class SessionRow:
    """A messaging API session of the member, as its page lists it."""

    session: MemberSession
    status: str  # "live", "expired", "revoked"
    #: Who issued it (the ``session.issue`` audit entry's actor): the client that asked.
    issued_by: str


def session_rows(organization: Any, member: Member, now: datetime) -> list[SessionRow]:
    """The member's newest sessions (``SESSION_LIMIT``) with who issued each, in two
    queries whatever their number: the sessions, and the ``session.issue`` audit entries
    of the member (matched by the token prefix they name)."""
    sessions = list(
        MemberSession.objects.filter(member=member).order_by("-created_at", "-pk")[:SESSION_LIMIT]
    )
    if not sessions:
        return []
    issuers: dict[str, str] = {}
    for prefix, label in AuditEntry.objects.filter(
        organization=organization,
        target_type="user",
        target_id=member.user_id,
        action="session.issue",
        created_at__gte=sessions[-1].created_at - timedelta(seconds=1),
    ).values_list("after__prefix", "actor_label")[: SESSION_LIMIT * 2]:
        issuers.setdefault(str(prefix), label)
    return [
        SessionRow(
            session=s,
            status="revoked"
            if s.revoked_at is not None
            else ("expired" if s.expires_at <= now else "live"),
            issued_by=issuers.get(s.prefix, ""),
        )
        for s in sessions
    ]


class UserDetailView(ConsoleView):
    section = "users"

    def member(self, user_id: str) -> Member:
        try:
            return member_get_detailed(organization=self.organization, user_id=user_id)
        except DomainError as exc:
            raise Http404(exc.message) from exc

    def channel_ids(self, member: Member) -> list[str]:
        return list(
            Membership.objects.filter(
                channel_live_q(prefix="channel__"),
                membership_current_q(),
                member=member,
                channel__closed_at__isnull=True,
            )
            .order_by("channel__channel_id")
            .values_list("channel__channel_id", flat=True)[:CHANNEL_CHOICES_LIMIT]
        )

    def role_ids(self) -> list[str]:
        return list(
            role_list(organization=self.organization)
            .order_by("role_id")
            .values_list("role_id", flat=True)[:ROLE_CHOICES_LIMIT]
        )

    def get(self, request: HttpRequest, user_id: str) -> HttpResponse:
        member = self.member(user_id)
        now = timezone.now()
        memberships = list(
            Membership.objects.filter(
                channel_live_q(prefix="channel__"),
                membership_current_q(),
                member=member,
                channel__closed_at__isnull=True,
            )
            .select_related("channel")
            .order_by("channel__channel_id")[:CHANNEL_CHOICES_LIMIT]
        )
        channel_ids = [m.channel.channel_id for m in memberships]
        restrictions: list[Restriction] = []
        if member.is_globally_banned(now):
            restrictions.append(
                Restriction(
                    kind="Global ban",
                    channel_id=None,
                    since=member.banned_at,  # type: ignore[arg-type]
                    until=member.ban_expires_at,
                    reason=member.ban_reason,
                    action="user.ban",
                )
            )
        live = channel_live_q(prefix="channel__")
        for row in (
            Membership.objects.filter(
                live, timed_active_q("banned_at", "ban_expires_at"), member=member
            )
            .select_related("channel")
            .order_by("-banned_at")[:LIST_LIMIT]
        ):
            restrictions.append(
                Restriction(
                    kind="Channel ban",
                    channel_id=row.channel.channel_id,
                    since=row.banned_at,  # type: ignore[arg-type]
                    until=row.ban_expires_at,
                    reason=row.ban_reason,
                    action="channel.users.ban",
                )
            )
        for row in (
            Membership.objects.filter(
                live, timed_active_q("muted_at", "mute_expires_at"), member=member
            )
            .select_related("channel")
            .order_by("-muted_at")[:LIST_LIMIT]
        ):
            restrictions.append(
                Restriction(
                    kind="Mute",
                    channel_id=row.channel.channel_id,
                    since=row.muted_at,  # type: ignore[arg-type]
                    until=row.mute_expires_at,
                    reason="",
                    action="channel.users.mute",
                )
            )
        attach_audit(self.organization, member, restrictions)
        slug = self.organization.slug
        channel_link = Link("console:channel", slug)
        unban_link = Link("console:channel_unban", slug)
        for r in restrictions:
            if not r.reason and r.entry is not None:
                r.reason = r.entry.reason
            if r.channel_id:
                r.channel_url, r.unban_url = channel_link(r.channel_id), unban_link(r.channel_id)
        flags = [
            (report, channel_link(report.target_message.channel.channel_id))
            if report.target_message
            else (report, "")
            for report in Report.objects.filter(
                report_open_q(), organization=self.organization, target_member=member
            )
            .select_related("reporter", "target_message", "target_message__channel")
            .order_by("-created_at", "-pk")[:LIST_LIMIT]
        ]
        recent = message_rows(
            table_messages(
                message_visible(organization=self.organization).filter(author=member)
            ).order_by("-pk")[:RECENT_MESSAGES],
            self.organization,
        )
        role_ids = self.role_ids()
        sessions = session_rows(self.organization, member, now)
        return self.render(
            "console/users/detail.html",
            member=member,
            sessions=sessions,
            live_sessions=sum(1 for row in sessions if row.status == "live"),
            session_limit=SESSION_LIMIT,
            is_banned=member.is_globally_banned(now),
            # Moderation history: every audit entry on the user (bans, mutes, reports
            # cleared, edits), newest first; one query.
            history=audit_on_user(
                organization=self.organization, member=member, limit=HISTORY_LIMIT
            ),
            memberships=[(m, channel_link(m.channel.channel_id)) for m in memberships],
            restrictions=restrictions,
            flags=flags,
            recent_rows=recent,
            **message_table(self.organization),
            messages_url=reverse("console:messages", args=[slug]),
            list_limit=LIST_LIMIT,
            channel_limit=CHANNEL_CHOICES_LIMIT,
            ban_form=static_form_html(UserBanForm, auto_id="ban_%s"),
            unban_form=static_form_html(UserUnbanForm, auto_id="unban_%s"),
            mute_form=UserMuteForm(auto_id="mute_%s", channel_ids=channel_ids),
            edit_form=UserEditForm(
                auto_id="edit_%s",
                role_ids=role_ids,
                initial={"display_name": member.display_name, "roles": list(member.roles or [])},
            ),
            has_roles=bool(role_ids),
        )

    # --- actions (POST with ``action``) ------------------------------------------------------

    ACTIONS = ("ban", "unban", "mute", "unmute", "clear_flags", "edit", "revoke_sessions")

    def post(self, request: HttpRequest, user_id: str) -> HttpResponse:
        member = self.member(user_id)
        action = request.POST.get("action", "")
        handler = getattr(self, f"do_{action}", None) if action in self.ACTIONS else None
        if handler is None:
            flash.error(request, "Nothing was changed: unknown action.")
        else:
            try:
                result = handler(member, request.POST)
            except DomainError as exc:
                flash.error(request, f"Nothing was changed. {exc.message}")
            else:
                level, text = result
                (flash.success if level == "ok" else flash.error)(request, text)
        return redirect(user_url(self.organization.slug, member.user_id))

    def do_ban(self, member: Member, data: Any) -> tuple[str, str]:
        form = UserBanForm(data)
        if not form.is_valid():
            return "error", form_error_text(form)
        undo_targets = {"user": member.user_id, "member_reports": member.user_id}
        before = undo_before(self.organization, "ban", undo_targets)
        reason = form.cleaned_data["reason"]
        with transaction.atomic():  # the ban and "also resolve the open reports": both or none
            member = member_services.member_ban(
                actor=self.actor, member=member, reason=reason, ban_period=form.period_ms()
            )
            resolved = (
                reports_resolve_for_member(
                    actor=self.actor, member=member, state=Report.State.ACTIONED, reason=reason
                )
                if form.cleaned_data.get("resolve_reports")
                else None
            )
        offer_undo(self.request, "ban", undo_targets, before)
        until = (
            f"until {member.ban_expires_at:%Y-%m-%d %H:%M} UTC"
            if member.ban_expires_at
            else "until unbanned"
        )
        text = f"{member.user_id} is banned from {self.organization.name} {until}."
        if resolved is not None:
            text += f" {resolved} open report{'' if resolved == 1 else 's'} marked actioned."
        return "ok", text

    def do_unban(self, member: Member, data: Any) -> tuple[str, str]:
        form = UserUnbanForm(data)
        if not form.is_valid():
            return "error", form_error_text(form)
        member_services.member_unban(
            actor=self.actor, member=member, reason=form.cleaned_data["reason"]
        )
        return "ok", f"{member.user_id} is no longer banned."

    def do_mute(self, member: Member, data: Any) -> tuple[str, str]:
        form = UserMuteForm(data, channel_ids=self.channel_ids(member))
        if not form.is_valid():
            return "error", form_error_text(form)
        channel = channel_get(
            organization=self.organization, channel_id=form.cleaned_data["channel"]
        )
        period = form.period_ms()
        undo_targets = {"channel": channel.channel_id, "users": [member.user_id]}
        before = undo_before(self.organization, "mute", undo_targets)
        channel_services.channel_users_mute(
            channel=channel,
            actor=self.actor,
            user_ids=[member.user_id],
            mute_period=period,
            reason=form.cleaned_data["reason"],
        )
        offer_undo(self.request, "mute", undo_targets, before)
        if period == channel_services.MUTE_FOREVER:
            until = "until unmuted"
        else:
            end = timezone.now() + timedelta(milliseconds=period)
            until = f"until about {end:%Y-%m-%d %H:%M} UTC"
        return "ok", f"{member.user_id} is muted in {channel.channel_id} {until}."

    def do_unmute(self, member: Member, data: Any) -> tuple[str, str]:
        form = UserUnmuteForm(data)
        if not form.is_valid():
            return "error", form_error_text(form)
        channel = channel_get(
            organization=self.organization, channel_id=form.cleaned_data["channel"]
        )
        channel_services.channel_users_mute(
            channel=channel, actor=self.actor, user_ids=[member.user_id], mute_period=0
        )
        return "ok", f"{member.user_id} is no longer muted in {channel.channel_id}."

    def do_clear_flags(self, member: Member, data: Any) -> tuple[str, str]:
        cleared = member_services.member_flags_clear(actor=self.actor, member=member)
        return (
            "ok",
            f"{cleared} open report{'s' if cleared != 1 else ''} on {member.user_id} dismissed.",
        )

    def do_revoke_sessions(self, member: Member, data: Any) -> tuple[str, str]:
        revoked = member_services.member_sessions_revoke(actor=self.actor, member=member)
        if not revoked:
            return "error", f"Nothing was changed: {member.user_id} has no live session."
        return (
            "ok",
            f"{revoked} session{'s' if revoked != 1 else ''} of {member.user_id} revoked: "
            "they no longer work on the messaging API.",
        )

    def do_edit(self, member: Member, data: Any) -> tuple[str, str]:
        form = UserEditForm(data, role_ids=self.role_ids())
        if not form.is_valid():
            return "error", form_error_text(form)
        member_services.member_update(
            actor=self.actor,
            member=member,
            display_name=form.cleaned_data["display_name"],
            roles=form.cleaned_data["roles"],
        )
        return "ok", f"{member.user_id} was updated."


urlpatterns = [
    path("users/", UserListView.as_view(), name="users"),
    path("users/<path:user_id>/", UserDetailView.as_view(), name="user"),
]
