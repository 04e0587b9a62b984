"""Console pages: message search across channels, and deleting a message with a reason.

Text search (``data.text``/``data.caption`` contains) cannot use an index, so it is
bounded: it only looks at the newest :data:`TEXT_SCAN_LIMIT` messages that match the other
filters (channel, author, dates, states), found with one index scan on the primary key.
The page says so; narrowing by channel or date reaches further back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib import messages as flash
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse

from apps.channels.selectors.channels import channel_get
from apps.console.access import ConsoleView, safe_next
from apps.console.channels.forms import form_error_text
from apps.console.links import Link
from apps.console.messages.forms import MessageDeleteForm, MessageSearchForm
from apps.console.paging import console_page
from apps.console.undo import offer_undo, undo_before
from apps.core.errors import DomainError
from apps.members.selectors import member_get
from apps.messages.models import Message
from apps.messages.selectors.messages import message_get, message_visible, with_details
from apps.messages.services.messages import message_delete
from apps.organizations.models import Organization

#: How many of the newest matching messages a text search looks at.
TEXT_SCAN_LIMIT = 10_000


def text_window(
    queryset: QuerySet[Message], *, text: str, scan_limit: int | None = None
) -> QuerySet[Message]:
    """``queryset`` narrowed to messages whose text (or caption) contains ``text``,
    among its newest ``scan_limit`` (default :data:`TEXT_SCAN_LIMIT`) rows only: one
    query finds the pk of the ``scan_limit``-th newest row (an index walk), and the
    search then scans at most that many rows."""
    scan_limit = scan_limit or TEXT_SCAN_LIMIT
    cutoff = list(
        queryset.order_by("-pk").values_list("pk", flat=True)[scan_limit - 1 : scan_limit]
    )
    if cutoff:
        queryset = queryset.filter(pk__gte=cutoff[0])
    return queryset.filter(Q(data__text__icontains=text) | Q(data__caption__icontains=text))


def message_text(message: Message) -> str:
    data = message.data if isinstance(message.data, dict) else {}
    text = data.get("text") or data.get("caption") or ""
    return str(text)


def table_messages(queryset: QuerySet[Message]) -> QuerySet[Message]:
    """The messages of ``console/messages/_table.html``: ``with_details`` (channel, author,
    open-report count) without its tag prefetch, since the table shows no tags (one
    statement less per page)."""
    return with_details(queryset).prefetch_related(None)


def message_rows(
    messages: Iterable[Message], organization: Organization
) -> list[tuple[Message, str, str, str]]:
    """The rows of ``console/messages/_table.html``: (message, text, channel page URL,
    author page URL), the URLs formatted from one reverse each (``Link``)."""
    channel_link = Link("console:channel", organization.slug)
    user_link = Link("console:user", organization.slug)
    return [
        (
            m,
            message_text(m),
            channel_link(m.channel.channel_id),
            user_link(m.author.user_id) if m.author_id else "",
        )
        for m in messages
    ]


def message_table(organization: Organization) -> dict[str, str]:
    """What ``console/messages/_table.html`` needs besides its rows: the delete form's
    action, reversed once for the whole table."""
    return {"message_delete_url": reverse("console:message_delete", args=[organization.slug])}


@dataclass
class MessageSearch:
    """The message list's search (its GET parameters) as a queryset: the one way the list
    and its bulk actions (apps/console/bulk) read the same filters."""

    form: MessageSearchForm
    queryset: QuerySet[Message]
    problems: list[str]
    text: str
    filters: dict[str, Any]


def message_search(organization: Organization, params: Any) -> MessageSearch:
    form = MessageSearchForm(params or None)
    queryset = message_visible(organization=organization)
    problems: list[str] = []
    text = ""
    filters: dict[str, Any] = {}
    if form.is_bound and not form.is_valid():
        problems.append(form_error_text(form).replace("Nothing was changed. ", ""))
        queryset = queryset.none()
    elif form.is_bound:
        filters = form.cleaned_data
        queryset, problems = _message_filter(organization, queryset, filters)
        text = filters.get("q") or ""
        if text and not problems:
            queryset = text_window(queryset, text=text)
    else:
        queryset = queryset.filter(deleted_at__isnull=True)
    return MessageSearch(form, queryset, problems, text, filters)


class MessageListView(ConsoleView):
    section = "messages"

    def get(self, request: HttpRequest) -> HttpResponse:
        search = message_search(self.organization, request.GET)
        form, queryset, problems = search.form, search.queryset, search.problems
        text, filters = search.text, search.filters
        digest = hashlib.sha256(
            json.dumps({k: str(v) for k, v in sorted(filters.items())}).encode()
        ).hexdigest()[:16]
        page = console_page(
            request,
            table_messages(queryset),
            scope=f"messages:{self.organization.pk}:{digest}",
            sorts={"newest": "-pk", "oldest": "pk"},
            default_sort="newest",
        )
        return self.render(
            "console/messages/list.html",
            form=form,
            page=page,
            rows=message_rows(page.items, self.organization),
            **message_table(self.organization),
            problems=problems,
            text_search=bool(text),
            scan_limit=TEXT_SCAN_LIMIT,
            sorts=[("newest", "Newest first"), ("oldest", "Oldest first")],
        )


def _message_filter(
    organization: Organization, queryset: QuerySet[Message], data: dict[str, Any]
) -> tuple[QuerySet[Message], list[str]]:
    problems: list[str] = []
    if data.get("channel"):
        try:
            channel = channel_get(organization=organization, channel_id=data["channel"])
            queryset = queryset.filter(channel=channel)
        except DomainError as exc:
            problems.append(exc.message)
    if data.get("author"):
        try:
            member = member_get(organization=organization, user_id=data["author"])
            queryset = queryset.filter(author=member)
        except DomainError as exc:
            problems.append(exc.message)
    if data.get("since"):
        queryset = queryset.filter(created_at__gte=_utc_midnight(data["since"]))
    if data.get("until"):
        queryset = queryset.filter(created_at__lt=_utc_midnight(data["until"]) + timedelta(days=1))
    if data.get("deleted") == "only":
        queryset = queryset.filter(deleted_at__isnull=False)
    elif data.get("deleted") != "include":
        queryset = queryset.filter(deleted_at__isnull=True)
    if data.get("hidden") == "only":
        queryset = queryset.filter(hidden_at__isnull=False)
    elif data.get("hidden") == "exclude":
        queryset = queryset.filter(hidden_at__isnull=True)
    if problems:
        queryset = queryset.none()
    return queryset, problems


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class MessageDeleteView(ConsoleView):
    """POST: soft-delete one message with a reason (``message_delete``: audited as
    ``message.delete``), then back to where the moderator was."""

    section = "messages"
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = MessageDeleteForm(request.POST)
        fallback = reverse("console:messages", args=[self.organization.slug])
        target = safe_next(request, self.organization.slug, request.POST.get("next"), fallback)
        if not form.is_valid():
            flash.error(request, form_error_text(form))
            return redirect(target)
        undo_targets = {"messages": [str(form.cleaned_data["message_id"])]}
        before = undo_before(self.organization, "delete", undo_targets)
        try:
            message = message_delete(
                organization=self.organization,
                actor=self.actor,
                message=message_get(
                    organization=self.organization,
                    message_id=str(form.cleaned_data["message_id"]),
                ),
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            flash.error(request, exc.message)
        else:
            flash.success(
                request,
                f"Message {message.public_id} in {message.channel.channel_id} deleted.",
            )
            offer_undo(request, "delete", undo_targets, before)
        return redirect(target)


urlpatterns = [
    path("messages/", MessageListView.as_view(), name="messages"),
    path("messages/delete/", MessageDeleteView.as_view(), name="message_delete"),
]
