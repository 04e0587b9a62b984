"""Console pages: the review queue (``review/``) and one reported target
(``review/<report_id>/``) with its context and the moderation actions.

The list is light (one row per reported target, one query for the page); the detail
page fetches the context (messages around, the author's history, earlier actions) in a
fixed number of queries. Every action is a POST that calls the same services as the API
(so the same rules and audit entries), then resolves the target's open reports: dismissed
for "dismiss", actioned for everything else. See docs/console/dashboard-and-review.md.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from apps.audit.actor import Actor
from apps.channels.models import Channel
from apps.channels.selectors.channels import channel_get
from apps.channels.services.channels import channel_users_ban, channel_users_mute
from apps.console.access import ConsoleView
from apps.console.dashboard.views import console_link
from apps.console.durations import duration_choices, duration_label
from apps.console.links import Link
from apps.console.paging import console_page
from apps.console.review import live
from apps.console.review.forms import (
    CHANNEL_BAN,
    DEFAULT_DURATION,
    DELETE,
    DISMISS,
    GLOBAL_BAN,
    MAX_MUTE_MINUTES,
    MUTE,
    ReviewActionForm,
    ReviewFilterForm,
)
from apps.console.selectors import (
    audit_on_user,
    author_recent_messages,
    group_reports,
    member_channels,
    member_standing,
    message_context,
    report_history,
    review_groups,
    review_next,
    review_report_get,
)
from apps.console.undo import offer_undo, review_undo_targets, undo_before
from apps.core.errors import DomainError
from apps.members.services import member_ban
from apps.messages.models import Message
from apps.messages.services.messages import message_delete
from apps.reports.models import Report
from apps.reports.selectors import ClaimHolder, report_claim_holder
from apps.reports.services import (
    report_claim,
    report_release,
    report_resolve,
    reports_resolve_for_member,
)

PER_PAGE = 25
#: The reports of one target listed on its page (the rest are counted).
MAX_REPORTS_SHOWN = 100
CONTEXT_AROUND = 3
AUTHOR_MESSAGES = 10
AUTHOR_ACTIONS = 10


def message_summary(message: Message | None, limit: int = 500) -> str:
    """The text a moderator reads for a message: its text or caption, or what it holds."""
    if message is None:
        return ""
    data = message.data if isinstance(message.data, dict) else {}
    text = data.get("text") or data.get("caption") or ""
    if not isinstance(text, str):
        text = str(text)
    if not text:
        if message.type == Message.Type.FILE:
            text = f"[file {data.get('name') or data.get('fileName') or ''}]".replace(" ]", "]")
        elif message.type == Message.Type.IMAGE:
            text = "[image]"
        else:
            text = f"[{message.type} message]"
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ReviewQueueView(ConsoleView):
    """Open reports grouped by target, oldest first, with filters and keyset pages, the
    count of the rows matching the filters, and a live twin (``live=True``,
    ``review/live/``): the same page as JSON for ``static/console/live.js``."""

    section = "review"
    #: The live twin: JSON (``apps.console.review.live``) instead of the page.
    live = False

    def get(self, request: HttpRequest) -> HttpResponse:
        org = self.organization
        filter_form = ReviewFilterForm(request.GET)
        filters = filter_form.filters()
        queryset = review_groups(organization=org, **filters)
        scope = "review:{}:{}".format(
            org.pk, ":".join(f"{k}={v}" for k, v in sorted(filters.items()))
        )
        page = console_page(
            request,
            queryset.select_related("claimed_by"),
            scope=scope,
            sorts={"oldest": "created_at", "newest": "-created_at"},
            default_sort="oldest",
            per_page=PER_PAGE,
        )
        item_link = Link("console:review_item", org.slug)
        carried = filter_form.query_string()
        now = timezone.now()
        for report in page.items:
            report.summary = message_summary(report.target_message, limit=160)
            report.item_url = item_link(report.pk) + carried  # the filters ride along
            # Taken: someone else's claim still holds (the viewer's own is not shown).
            report.taken_by = (
                report.claimed_by.email
                if report.claim_live(now) and report.claimed_by_id != request.user.pk
                else ""
            )
        count, exact = live.capped_total(queryset)
        values = {"count": live.count_label(count, exact)}
        if self.live:
            rows = render_to_string(
                "console/review/queue.html#queue-rows", self.context(page=page), request
            )
            since = live.parse_cursor(request.GET.get("since"))
            return live.live_response(
                request,
                values=values,
                rows=rows,
                empty=not page.items,
                new=live.new_since(queryset, since),
            )
        return self.render(
            "console/review/queue.html",
            page=page,
            filter_form=filter_form,
            filtered=any(filters.values()),
            queue_count=count,
            queue_count_exact=exact,
            count_label=values["count"],
            live_url=reverse("console:review_live", args=[org.slug]),
            live_since=live.live_cursor(),
            live_interval_ms=live.INTERVAL_MS,
        )


class ReviewItemView(ConsoleView):
    """One reported target: its reports, the message in context, the author's history,
    and the action panel (POST).

    Opening an item claims it for ``CHATADMIN_CONSOLE_CLAIM_SECONDS`` (its oldest open
    report, the row the queue shows: ``report_claim``); others see "taken by ... until
    ..." and may still act; "next item" skips items someone else holds. The queue's
    filters ride along in the query string (item -> next item -> back to the queue)."""

    section = "review"

    def _report(self, report_id: int) -> Report:
        try:
            return review_report_get(organization=self.organization, report_id=report_id)
        except DomainError as error:
            raise Http404(error.message) from None

    def get(self, request: HttpRequest, report_id: int) -> HttpResponse:
        report = self._report(report_id)
        skipped = request.GET.get("skip", "")
        if skipped.isdigit() and 0 < int(skipped) < 2**63 and int(skipped) != report.pk:
            # "Next item" from an item this moderator held: let it go for the others.
            report_release(report=Report(pk=int(skipped)), account=request.user)
        return self._page(report, claim=True)

    def _queue(self) -> ReviewFilterForm:
        return ReviewFilterForm(self.request.GET)

    def _next(self, position: Report, queue: ReviewFilterForm) -> Report | None:
        return review_next(
            organization=self.organization,
            after=position,
            filters=queue.filters(),
            newest_first=queue.newest_first(),
            viewer=self.request.user,
        )

    def _page(
        self,
        report: Report,
        *,
        form: ReviewActionForm | None = None,
        status: int = 200,
        claim: bool = False,
    ) -> HttpResponse:
        org = self.organization
        account = self.request.user
        # claimed_by joined in: "taken by <email>" costs no query of its own
        rows = list(group_reports(report).select_related("claimed_by")[: MAX_REPORTS_SHOWN + 1])
        total = len(rows)
        if total > MAX_REPORTS_SHOWN:
            rows = rows[:MAX_REPORTS_SHOWN]
            total = group_reports(report).count()
        position = rows[0] if rows else report
        holder = None  # someone else's live claim, shown as "taken by"
        if rows and not (claim and report_claim(report=position, account=account)):
            if position.claimed_by_id not in (None, account.pk) and position.claim_live():
                holder = ClaimHolder(
                    account_id=position.claimed_by_id,
                    email=position.claimed_by.email,
                    until=position.claimed_until,
                )
            elif claim:  # refused, yet the row read above showed no live claim: re-read
                holder = report_claim_holder(report=position)
            if holder is not None and holder.account_id == account.pk:
                holder = None
        message = report.target_message
        member = report.target_member
        channel = message.channel if message is not None else None
        before: list[Message] = []
        after: list[Message] = []
        if message is not None:
            message.summary = message_summary(message)
            before, after = message_context(
                organization=org, message=message, around=CONTEXT_AROUND
            )
            for row in [*before, *after]:
                row.summary = message_summary(row, limit=300)
        recent = author_recent_messages(organization=org, member=member, limit=AUTHOR_MESSAGES)
        for row in recent:
            row.summary = message_summary(row, limit=200)
        queue = self._queue()
        carried = queue.query_string()
        next_item = self._next(position, queue)
        slug = org.slug
        outcomes = report_history(organization=org, member=member)
        next_url = ""
        if next_item is not None:
            next_url = reverse("console:review_item", args=[slug, next_item.pk]) + carried
            if rows and holder is None:  # let this item go when moving on
                next_url += f"{'&' if carried else '?'}skip={position.pk}"
        chosen = (form.data.get("duration") if form is not None else "") or DEFAULT_DURATION
        return self.render(
            "console/review/item.html",
            status=status,
            report=report,
            reports=rows,
            report_total=total,
            is_open=bool(rows),
            message=message,
            member=member,
            channel=channel,
            channel_closed=channel is not None and channel.is_closed,
            before=before,
            after=after,
            recent_messages=recent,
            user_actions=audit_on_user(organization=org, member=member, limit=AUTHOR_ACTIONS),
            outcomes=outcomes,
            other_open=max(outcomes["open"] - total, 0),
            standing=member_standing(member=member, channel=channel),
            user_channels=member_channels(member=member) if message is None else [],
            globally_banned=member.is_globally_banned(),
            next_item=next_item,
            next_url=next_url,
            queue_url=reverse("console:review", args=[slug]) + carried,
            holder=holder,
            form=form,
            durations=[
                (key, label, key == chosen, f"duration-{key}") for key, label in duration_choices()
            ],
            max_mute_minutes=MAX_MUTE_MINUTES,
            user_url=console_link("user", slug, member.user_id, fallback="users"),
            channel_url=(
                console_link("channel", slug, channel.channel_id, fallback="channels")
                if channel is not None
                else ""
            ),
        )

    def post(self, request: HttpRequest, report_id: int) -> HttpResponse:
        report = self._report(report_id)
        form = ReviewActionForm(request.POST)
        if not form.is_valid():
            messages.error(request, form.first_error())
            return self._page(report, form=form, status=400)
        open_reports = list(group_reports(report))
        if not open_reports:
            messages.error(
                request,
                f"Nothing to do: report {report.pk} is already {report.state}"
                + (f" by {report.resolved_by_label}." if report.resolved_by_label else "."),
            )
            return self._page(report, status=409)
        data = form.cleaned_data
        undo_action, undo_targets = review_undo_targets(report, data, open_reports)
        before = undo_before(self.organization, undo_action, undo_targets)
        also = 0
        try:
            with transaction.atomic():
                done = self._act(report, data)
                state = (
                    Report.State.DISMISSED if data["action"] == DISMISS else Report.State.ACTIONED
                )
                resolved = _resolve(self.actor, open_reports, state=state, reason=data["reason"])
                if data["action"] == DISMISS and resolved == 0:
                    raise DomainError("conflict", "Someone else resolved these reports meanwhile.")
                if data.get("resolve_all"):
                    # The user's other open reports (on them and on their other messages),
                    # with the same reason: audited as user.flags.clear.
                    also = reports_resolve_for_member(
                        actor=self.actor,
                        member=report.target_member,
                        state=state,
                        reason=data["reason"],
                    )
        except DomainError as error:
            messages.error(request, error.message)
            return self._page(report, form=form, status=400)
        noun = "report" if resolved == 1 else "reports"
        text = f"{done} {resolved} {noun} marked {state!s}."
        if data.get("resolve_all"):
            text += (
                f" Also {also} other open report{'' if also == 1 else 's'} on "
                f"{report.target_member.user_id} marked {state!s}."
            )
        messages.success(request, text)
        offer_undo(request, undo_action, undo_targets, before)
        queue = self._queue()
        following = self._next(open_reports[0], queue)
        if following is not None:
            return redirect(
                reverse("console:review_item", args=[self.organization.slug, following.pk])
                + queue.query_string()
            )
        return redirect(
            reverse("console:review", args=[self.organization.slug]) + queue.query_string()
        )

    def _channel_for(self, report: Report, data: dict[str, Any]) -> Channel:
        """The reported message's channel, or for a reported user the channel chosen."""
        if report.target_message is not None:
            return report.target_message.channel
        channel_id = (data.get("channel") or "").strip()
        if not channel_id:
            raise DomainError("missing_parameter", "Choose the channel to act in.", field="channel")
        return channel_get(organization=self.organization, channel_id=channel_id, field="channel")

    def _act(self, report: Report, data: dict[str, Any]) -> str:
        """Run the action through its service; returns the first half of the success
        message. Raises DomainError (the services' rules) to show as an error."""
        action, reason = data["action"], data["reason"]
        member = report.target_member
        message = report.target_message
        if action == DISMISS:
            return "Dismissed."
        if action == DELETE:
            if message is None:
                raise DomainError(
                    "invalid_parameter", "This report is on a user: there is no message to delete."
                )
            if message.deleted_at is not None:
                return "The message was already deleted."
            message_delete(
                organization=self.organization, actor=self.actor, message=message, reason=reason
            )
            return "Message deleted."
        period = data["period_ms"]
        if action == MUTE:
            channel = self._channel_for(report, data)
            channel_users_mute(
                channel=channel,
                actor=self.actor,
                user_ids=[member.user_id],
                mute_period=period,
                reason=reason,
            )
            return f"{member.user_id} muted in {channel.channel_id} {_how_long(period, 'unmuted')}."
        if action == CHANNEL_BAN:
            channel = self._channel_for(report, data)
            channel_users_ban(
                channel=channel,
                actor=self.actor,
                user_ids=[member.user_id],
                reason=reason,
                ban_period=period,
            )
            until = _how_long(period, "unbanned")
            return f"{member.user_id} banned from {channel.channel_id} {until}."
        if action == GLOBAL_BAN:
            member_ban(actor=self.actor, member=member, reason=reason, ban_period=period)
            return f"{member.user_id} banned everywhere {_how_long(period, 'unbanned')}."
        raise DomainError("invalid_parameter", f"Unknown action {action!r}.")  # pragma: no cover


def _how_long(period_ms: int, until: str) -> str:
    """``for 1 h``, ``for 90 min``, ``until unmuted``: a duration for the success message."""
    return f"until {until}" if period_ms < 0 else f"for {duration_label(period_ms)}"


def _resolve(actor: Actor, reports: list[Report], *, state: str, reason: str) -> int:
    """Resolve each still-open report through the reports service (each audited as
    ``report.resolve``); one resolved meanwhile by someone else is skipped. Returns how
    many this call resolved."""
    resolved = 0
    for report in reports:
        try:
            report_resolve(actor=actor, report=report, state=state, reason=reason)
        except DomainError:  # "conflict": already resolved (its savepoint rolled back)
            continue
        resolved += 1
    return resolved


urlpatterns: list[URLPattern] = [
    path("review/", ReviewQueueView.as_view(), name="review"),
    path("review/live/", ReviewQueueView.as_view(live=True), name="review_live"),
    path("review/<int:report_id>/", ReviewItemView.as_view(), name="review_item"),
]
