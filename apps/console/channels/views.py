"""Console pages: the channel list, a channel's page and every channel action.

Each action is a POST to its own path under ``channels/<channelId>/`` that calls the same
service as the Admin API (apps/channels/services.py), so the rule and the audit entry are
the same; it redirects back to the channel with a success or error message (PRG).
Closing is irreversible: its own page asks the moderator to type the channel's id.

Deleted channels (``deleted_at``, the messaging API's and the chatroom service's delete)
are listed and shown until their purge, and restored ("undelete") while their grace
period lasts (apps/channels/services/states.py); archived ones are unarchived there too.
The channel's recent messages are shown as threads: each top-level message with its
newest replies under it (one query for every thread's replies).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages as flash
from django.db.models import F, Q, QuerySet, Window
from django.db.models.functions import Coalesce, RowNumber
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone

from apps.channels.models import Channel, Membership, membership_current_q
from apps.channels.selectors.channels import (
    channel_get,
    channel_get_with_deleted,
    channel_query,
)
from apps.channels.services import channels as services
from apps.channels.services import states
from apps.channels.services.conversations import channel_archive
from apps.console import durations
from apps.console.access import ConsoleView
from apps.console.channels.forms import (
    BanForm,
    ChannelCloseForm,
    ChannelMuteForm,
    ChannelSearchForm,
    ChannelStateForm,
    ChannelUnmuteForm,
    MembersAddForm,
    MembersBanForm,
    MembersMuteForm,
    MembersRemoveForm,
    MembersUnbanForm,
    MembersUnmuteForm,
    ScheduledDeletionForm,
    form_error_text,
)
from apps.console.links import Link
from apps.console.messages.views import (
    TEXT_SCAN_LIMIT,
    message_rows,
    message_table,
    table_messages,
    text_window,
)
from apps.console.paging import console_page
from apps.console.static_forms import static_form_html
from apps.console.undo import offer_undo, undo_before
from apps.core.errors import DomainError
from apps.core.sweeps import timed_active_q
from apps.messages.models import Message
from apps.messages.selectors.messages import message_visible
from apps.organizations.models import Organization
from apps.retention import services as retention

#: Rows of the smaller lists on a channel's page (bans, mutes, recent messages).
SIDE_LIST_LIMIT = 50
RECENT_MESSAGES = 25
#: Replies shown under each recent message (its newest ones, oldest first).
REPLIES_PER_THREAD = 5

#: "newest" walks the primary key (which grows with creation time) so it needs no index.
CHANNEL_SORTS = {
    "newest": "-pk",
    "name": "display_name",
    "activity": "-activity",
    "members": "-member_count",
}
SORT_LABELS = [
    ("newest", "Newest"),
    ("name", "Name"),
    ("activity", "Last activity"),
    ("members", "Most members"),
]


def channel_or_404(
    organization: Organization, channel_id: str, *, deleted: bool = False
) -> Channel:
    """The channel of this organization (closed ones included; with ``deleted``, deleted
    ones too until they are purged), or 404 like any unknown id."""
    try:
        if deleted:
            return channel_get_with_deleted(organization=organization, channel_id=channel_id)
        return channel_get(organization=organization, channel_id=channel_id)
    except DomainError as exc:
        raise Http404(exc.message) from exc


#: The channel's action URLs a channel page links to (``urls.<name>`` in its template).
CHANNEL_ACTIONS = (
    "channel_mute",
    "channel_unmute",
    "channel_deletion_set",
    "channel_deletion_clear",
    "channel_close",
    "channel_members_add",
    "channel_members_remove",
    "channel_ban",
    "channel_unban",
    "channel_members_mute",
    "channel_members_unmute",
    "channel_archive",
    "channel_unarchive",
    "channel_undelete",
)


def channel_urls(organization: Organization, channel: Channel) -> dict[str, str]:
    """The channel's action URLs, reversed once per page (not once per table row), and
    the list of channels and the message search."""
    slug, channel_id = organization.slug, channel.channel_id
    urls = {name: reverse(f"console:{name}", args=[slug, channel_id]) for name in CHANNEL_ACTIONS}
    urls["channels"] = reverse("console:channels", args=[slug])
    urls["messages"] = reverse("console:messages", args=[slug])
    return urls


def channel_url(organization: Organization, channel: Channel) -> str:
    return reverse(
        "console:channel", kwargs={"org": organization.slug, "channel_id": channel.channel_id}
    )


#: The list's ``state`` filter ("all": no filter). Open channels may be archived
#: (read-only); deleted ones are listed until their purge.
CHANNEL_STATES = {
    "open": Q(closed_at__isnull=True, deleted_at__isnull=True),
    "archived": Q(closed_at__isnull=True, deleted_at__isnull=True, archived_at__isnull=False),
    "deleted": Q(deleted_at__isnull=False),
    "closed": Q(closed_at__isnull=False),
}


def thread_rows(
    parents: list[Message], organization: Organization
) -> list[tuple[Any, list[Any], int]]:
    """The recent messages as threads: (parent row, its newest replies' rows oldest first,
    how many more replies it has), rows as ``message_rows``. Every thread's replies come
    from ONE query (a window function keeps the newest ``REPLIES_PER_THREAD`` of each)."""
    with_replies = [m.pk for m in parents if m.children_count]
    replies: dict[int, list[Message]] = {}
    if with_replies:
        ranked = (
            table_messages(
                message_visible(organization=organization).filter(
                    parent__in=with_replies, deleted_at__isnull=True
                )
            )
            .annotate(
                thread_rank=Window(
                    RowNumber(), partition_by=F("parent_id"), order_by=F("pk").desc()
                )
            )
            .filter(thread_rank__lte=REPLIES_PER_THREAD)
            .order_by("parent_id", "pk")
        )
        for reply in ranked:
            replies.setdefault(reply.parent_id, []).append(reply)  # type: ignore[arg-type]
    rows = message_rows(parents, organization)
    return [
        (
            row,
            message_rows(replies.get(row[0].pk, []), organization),
            max(row[0].children_count - len(replies.get(row[0].pk, [])), 0),
        )
        for row in rows
    ]


class ChannelListView(ConsoleView):
    section = "channels"

    def get(self, request: HttpRequest) -> HttpResponse:
        form = ChannelSearchForm(request.GET or None)
        data = form.cleaned_data if form.is_valid() else {}
        tag = data.get("tag") or ""
        queryset = channel_query(
            organization=self.organization,
            filters={"tags": [tag]} if tag else {},
            include_deleted=True,
        )
        if q := data.get("q"):
            queryset = queryset.filter(Q(channel_id__icontains=q) | Q(display_name__icontains=q))
        muted = timed_active_q("muted_at", "mute_expires_at")
        if data.get("muted") == "yes":
            queryset = queryset.filter(muted)
        elif data.get("muted") == "no":
            queryset = queryset.exclude(muted)
        state = data.get("state") or "open"
        queryset = queryset.filter(CHANNEL_STATES[state]) if state in CHANNEL_STATES else queryset
        queryset = queryset.annotate(activity=Coalesce("last_activity_at", "created_at"))
        digest = hashlib.sha256(
            json.dumps([data.get("q"), data.get("muted"), state, tag]).encode()
        ).hexdigest()[:16]
        page = console_page(
            request,
            queryset,
            scope=f"channels:{self.organization.pk}:{digest}",
            sorts=CHANNEL_SORTS,
            default_sort="newest",
        )
        now = timezone.now()
        channel_link = Link("console:channel", self.organization.slug)
        rows = [(c, c.is_muted(now), channel_link(c.channel_id)) for c in page.items]
        return self.render(
            "console/channels/list.html",
            now=now,
            form=form,
            page=page,
            rows=rows,
            sorts=SORT_LABELS,
        )


class ChannelDetailView(ConsoleView):
    section = "channels"

    def get(self, request: HttpRequest, channel_id: str) -> HttpResponse:
        channel = channel_or_404(self.organization, channel_id, deleted=True)
        now = timezone.now()
        members = (
            Membership.objects.filter(membership_current_q(), channel=channel)
            .select_related("member")
            .annotate(uid=F("member__user_id"))
        )
        page = console_page(
            request,
            members,
            scope=f"channel-members:{self.organization.pk}:{channel.pk}",
            sorts={"joined": "-joined_at", "user": "uid"},
            default_sort="joined",
        )
        user_link = Link("console:user", self.organization.slug)
        member_rows = [(m, m.is_muted(now), user_link(m.member.user_id)) for m in page.items]
        banned = [
            (m, user_link(m.member.user_id))
            for m in Membership.objects.filter(
                timed_active_q("banned_at", "ban_expires_at"), channel=channel
            )
            .select_related("member")
            .order_by("-banned_at", "-pk")[:SIDE_LIST_LIMIT]
        ]
        muted = [
            (m, user_link(m.member.user_id))
            for m in Membership.objects.filter(
                timed_active_q("muted_at", "mute_expires_at"), channel=channel
            )
            .select_related("member")
            .order_by("-muted_at", "-pk")[:SIDE_LIST_LIMIT]
        ]
        text = request.GET.get("mq", "").strip()[:200]
        recent: QuerySet[Any] = message_visible(organization=self.organization).filter(
            channel=channel, deleted_at__isnull=True
        )
        threads: list[tuple[Any, list[Any], int]] = []
        recent_rows: list[Any] = []
        if text:  # a text search lists every matching message, replies included
            recent_rows = message_rows(
                table_messages(text_window(recent, text=text)).order_by("-pk")[:RECENT_MESSAGES],
                self.organization,
            )
        else:
            parents = table_messages(recent.filter(parent__isnull=True)).order_by("-pk")
            threads = thread_rows(list(parents[:RECENT_MESSAGES]), self.organization)
        return self.render(
            "console/channels/detail.html",
            channel=channel,
            is_muted=channel.is_muted(now),
            is_deleted=channel.deleted_at is not None,
            can_act=channel.closed_at is None and channel.deleted_at is None,
            can_undelete=states.channel_can_undelete(channel, now),
            grace_ends_at=states.channel_grace_ends_at(channel),
            threads=threads,
            replies_per_thread=REPLIES_PER_THREAD,
            # the member rows' mute and ban forms: the console's durations (one list)
            member_durations=durations.duration_choices(),
            member_mute_default=MembersMuteForm.DEFAULT,
            member_ban_default=BanForm.DEFAULT,
            page=page,
            member_rows=member_rows,
            banned=banned,
            muted=muted,
            side_limit=SIDE_LIST_LIMIT,
            recent_rows=recent_rows,
            message_query=text,
            scan_limit=TEXT_SCAN_LIMIT,
            urls=channel_urls(self.organization, channel),
            **message_table(self.organization),
            mute_form=static_form_html(ChannelMuteForm, auto_id="mute_%s"),
            unmute_form=static_form_html(ChannelUnmuteForm, auto_id="unmute_%s"),
            add_form=static_form_html(MembersAddForm, auto_id="add_%s"),
            remove_form=static_form_html(MembersRemoveForm, auto_id="remove_%s"),
            ban_form=static_form_html(MembersBanForm, auto_id="ban_%s"),
            unban_form=static_form_html(MembersUnbanForm, auto_id="unban_%s"),
            deletion_form=ScheduledDeletionForm(
                auto_id="deletion_%s", initial={"at": channel.scheduled_deletion_at}
            ).as_div(),
            member_sorts=[("joined", "Newest members"), ("user", "userId")],
        )


class ChannelActionView(ConsoleView):
    """A POST on one channel: validate the form, call the service, redirect with a message.

    Subclasses set ``form_class`` and implement ``perform`` (returns the success message).
    """

    section = "channels"
    http_method_names = ["post"]
    form_class: type[forms.Form] = forms.Form

    def perform(self, channel: Channel, data: dict[str, Any], form: Any) -> str:
        raise NotImplementedError

    def post(self, request: HttpRequest, channel_id: str) -> HttpResponse:
        channel = channel_or_404(self.organization, channel_id, deleted=True)
        form = self.form_class(request.POST)
        if not form.is_valid():
            flash.error(request, form_error_text(form))
        else:
            try:
                flash.success(request, self.perform(channel, form.cleaned_data, form))
            except DomainError as exc:
                flash.error(request, f"Nothing was changed. {exc.message}")
        return redirect(channel_url(self.organization, channel))


def _until(channel: Channel) -> str:
    if channel.mute_expires_at is None:
        return "until unmuted"
    return f"until {channel.mute_expires_at:%Y-%m-%d %H:%M} UTC"


def _names(user_ids: list[str]) -> str:
    shown = ", ".join(user_ids[:10])
    return shown + (f" and {len(user_ids) - 10} more" if len(user_ids) > 10 else "")


class ChannelMuteView(ChannelActionView):
    form_class = ChannelMuteForm

    def perform(self, channel: Channel, data: dict[str, Any], form: Any) -> str:
        undo_targets = {"channel": channel.channel_id}
        before = undo_before(self.organization, "channel_mute", undo_targets)
        channel = services.channel_mute(
            channel=channel, actor=self.actor, mute_period=form.period_ms(), reason=data["reason"]
        )
        offer_undo(self.request, "channel_mute", undo_targets, before)
        return f"Channel {channel.channel_id} muted {_until(channel)}."


class ChannelUnmuteView(ChannelActionView):
    form_class = ChannelUnmuteForm

    def perform(self, channel: Channel, data: dict[str, Any], form: Any) -> str:
        services.channel_mute(
            channel=channel, actor=self.actor, mute_period=0, reason=data["reason"]
        )
        return f"Channel {channel.channel_id} unmuted."


class MembersAddView(ChannelActionView):
    form_class = MembersAddForm

    def perform(self, channel: Channel, data: dict[str, Any], form: Any) -> str:
        services.channel_users_add(channel=channel, actor=self.actor, user_ids=data["user_ids"])
        return f"Added to {channel.channel_id}: {_names(data['user_ids'])}."


class MembersRemoveView(ChannelActionView):
    form_class = MembersRemoveForm

    def perform(self, channel: Channel, data: dict[str, Any], form: Any) -> str:
        services.channel_users_remove(channel=channel, actor=self.actor, user_ids=data["user_ids"])
        return f"Removed from {channel.channel_id}: {_names(data['user_ids'])}."


class MembersBanView(ChannelActionView):
    form_class = MembersBanForm

    def perform(self, channel: Channel, data: dict[str, Any], form: Any) -> str:
        undo_targets = {"channel": channel.channel_id, "users": data["user_ids"]}
        before = undo_before(self.organization, "channel_ban", undo_targets)
        services.channel_users_ban(
            channel=channel,
            actor=self.actor,
            user_ids=data["user_ids"],
            reason=data["reason"],
            ban_period=form.period_ms(),
        )
        offer_undo(self.request, "channel_ban", undo_targets, before)
        return f"Banned from {channel.channel_id}: {_names(data['user_ids'])}."


class MembersUnbanView(ChannelActionView):
    form_class = MembersUnbanForm

    def perform(self, channel: Channel, data: dict[str, Any], form: Any) -> str:
        services.channel_users_unban(channel=channel, actor=self.actor, user_ids=data["user_ids"])
        return f"Unbanned in {channel.channel_id}: {_names(data['user_ids'])}."


class MembersMuteView(ChannelActionView):
    form_class = MembersMuteForm

    def perform(self, channel: Channel, data: dict[str, Any], form: Any) -> str:
        period = form.period_ms()
        undo_targets = {"channel": channel.channel_id, "users": data["user_ids"]}
        before = undo_before(self.organization, "mute", undo_targets)
        services.channel_users_mute(
            channel=channel,
            actor=self.actor,
            user_ids=data["user_ids"],
            mute_period=period,
            reason=data["reason"],
        )
        offer_undo(self.request, "mute", undo_targets, before)
        if period == durations.FOREVER_MS:
            until = "until unmuted"
        else:
            end = timezone.now() + timedelta(milliseconds=period)
            until = f"for {durations.duration_label(period)} (until {end:%Y-%m-%d %H:%M} UTC)"
        return f"Muted in {channel.channel_id} {until}: {_names(data['user_ids'])}."


class MembersUnmuteView(ChannelActionView):
    form_class = MembersUnmuteForm

    def perform(self, channel: Channel, data: dict[str, Any], form: Any) -> str:
        services.channel_users_mute(
            channel=channel, actor=self.actor, user_ids=data["user_ids"], mute_period=0
        )
        return f"Unmuted in {channel.channel_id}: {_names(data['user_ids'])}."


class ChannelArchiveView(ChannelActionView):
    form_class = ChannelStateForm

    def perform(self, channel: Channel, data: dict[str, Any], form: Any) -> str:
        channel_archive(channel=channel, actor=self.actor)
        return f"Channel {channel.channel_id} archived: it is read-only until unarchived."


class ChannelUnarchiveView(ChannelActionView):
    form_class = ChannelStateForm

    def perform(self, channel: Channel, data: dict[str, Any], form: Any) -> str:
        states.channel_unarchive(channel=channel, actor=self.actor)
        return f"Channel {channel.channel_id} unarchived: its members may post again."


class ChannelUndeleteView(ChannelActionView):
    form_class = ChannelStateForm

    def perform(self, channel: Channel, data: dict[str, Any], form: Any) -> str:
        states.channel_undelete(channel=channel, actor=self.actor)
        return f"Channel {channel.channel_id} restored: it is no longer deleted."


class ScheduledDeletionSetView(ChannelActionView):
    form_class = ScheduledDeletionForm

    def perform(self, channel: Channel, data: dict[str, Any], form: Any) -> str:
        channel = retention.channel_scheduled_deletion_set(
            channel=channel, actor=self.actor, at=data["at"]
        )
        at = channel.scheduled_deletion_at
        return f"Channel {channel.channel_id} will be deleted at {at:%Y-%m-%d %H:%M} UTC."


class ScheduledDeletionClearView(ChannelActionView):
    def perform(self, channel: Channel, data: dict[str, Any], form: Any) -> str:
        retention.channel_scheduled_deletion_set(channel=channel, actor=self.actor, at=None)
        return f"The scheduled deletion of {channel.channel_id} was cleared."


class ChannelCloseView(ConsoleView):
    """GET: the confirmation page; POST: close if the typed id is exactly the channel's."""

    section = "channels"

    def _page(self, channel: Channel, form: ChannelCloseForm, status: int = 200) -> HttpResponse:
        return self.render("console/channels/close.html", status=status, channel=channel, form=form)

    def get(self, request: HttpRequest, channel_id: str) -> HttpResponse:
        channel = channel_or_404(self.organization, channel_id)
        return self._page(channel, ChannelCloseForm(channel_id=channel.channel_id))

    def post(self, request: HttpRequest, channel_id: str) -> HttpResponse:
        channel = channel_or_404(self.organization, channel_id)
        form = ChannelCloseForm(request.POST, channel_id=channel.channel_id)
        if not form.is_valid():
            flash.error(request, form_error_text(form))
            return self._page(channel, form, status=400)
        try:
            closed = retention.channel_close(
                channel=channel, actor=self.actor, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            flash.error(request, f"Nothing was changed. {exc.message}")
            return redirect(channel_url(self.organization, channel))
        flash.success(
            request,
            f"Channel {closed.channel_id} closed: its members were removed and its "
            "messages will be purged.",
        )
        return redirect(channel_url(self.organization, closed))


def _channel_path(suffix: str, view: Callable[..., HttpResponse], name: str) -> Any:
    return path(f"channels/<str:channel_id>/{suffix}", view, name=name)


urlpatterns = [
    path("channels/", ChannelListView.as_view(), name="channels"),
    _channel_path("", ChannelDetailView.as_view(), "channel"),
    _channel_path("mute/", ChannelMuteView.as_view(), "channel_mute"),
    _channel_path("unmute/", ChannelUnmuteView.as_view(), "channel_unmute"),
    _channel_path("members/add/", MembersAddView.as_view(), "channel_members_add"),
    _channel_path("members/remove/", MembersRemoveView.as_view(), "channel_members_remove"),
    _channel_path("bans/add/", MembersBanView.as_view(), "channel_ban"),
    _channel_path("bans/remove/", MembersUnbanView.as_view(), "channel_unban"),
    _channel_path("mutes/add/", MembersMuteView.as_view(), "channel_members_mute"),
    _channel_path("mutes/remove/", MembersUnmuteView.as_view(), "channel_members_unmute"),
    _channel_path("archive/", ChannelArchiveView.as_view(), "channel_archive"),
    _channel_path("unarchive/", ChannelUnarchiveView.as_view(), "channel_unarchive"),
    _channel_path("undelete/", ChannelUndeleteView.as_view(), "channel_undelete"),
    _channel_path("deletion/", ScheduledDeletionSetView.as_view(), "channel_deletion_set"),
    _channel_path(
        "deletion/clear/", ScheduledDeletionClearView.as_view(), "channel_deletion_clear"
    ),
    _channel_path("close/", ChannelCloseView.as_view(), "channel_close"),
]
