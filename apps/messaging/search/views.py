"""Messaging API: ``GET /search/messages`` and ``GET /search/threads``
(docs/api/messaging-search.md). Parse -> apps.messages.selectors.search -> render with the
messages area's shapes."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.messages.selectors import search
from apps.messaging.base import ErrorEnvelope, MessagingAPIView
from apps.messaging.messages.shapes import render_messages
from apps.messaging.search.serializers import (
    MessageSearchInput,
    SearchResultEnvelope,
    ThreadSearchInput,
)

TAGS = ["messaging"]
_ERRORS = {400: ErrorEnvelope, 401: ErrorEnvelope, 403: ErrorEnvelope}


class _SearchView(MessagingAPIView):
    """A search route."""


class SearchMessagesView(_SearchView):
    @extend_schema(
        operation_id="messaging_search_messages",
        summary="Search for messages",
        description=(
            "Messages of the channels the caller may read, newest first; never deleted or "
            "hidden ones. Without `query` a filtered list (a channel's history: top-level "
            "messages unless `threadID` is given), paged by message id: `beforeMessageID` "
            "pages back, `afterMessageID` forward (the window is then the oldest `limit` "
            "messages after it). With `query`: full-text search (PostgreSQL) or a "
            "case-insensitive substring match (SQLite), replies included. Unknown, other "
            "organizations' or unreadable ids in a filter match nothing."
        ),
        parameters=[MessageSearchInput],
        responses={200: SearchResultEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        data = self.validate(MessageSearchInput)
        messages = search.messages_search(
            organization=self.organization,
            member=self.member,
            channel_ids=data.get("channelID"),
            thread_ids=data.get("threadID"),
            user_ids=data.get("userID"),
            types=data.get("type"),
            after=data.get("afterMessageID"),
            before=data.get("beforeMessageID"),
            from_=data.get("fromMessageID"),
            to=data.get("toMessageID"),
            pinned_only=data["pinnedOnly"],
            bookmarked_only=data["bookmarkedOnly"],
            limit=data.get("limit", search.DEFAULT_LIMIT),
            query=data.get("query"),
        )
        return self.respond(render_messages(messages, member=self.member))


class SearchThreadsView(_SearchView):
    @extend_schema(
        operation_id="messaging_search_threads",
        summary="Search for threads",
        description=(
            "Up to `limit` threads (top-level messages with replies) of the channels the "
            "caller may read, newest first, each root followed by its newest "
            f"{search.THREAD_REPLIES} replies in chronological order (`replies` on the root "
            "counts them all; page the rest with /search/messages?threadID=). With `query`: "
            "threads whose root or a reply matches."
        ),
        parameters=[ThreadSearchInput],
        responses={200: SearchResultEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        data = self.validate(ThreadSearchInput)
        messages = search.threads_search(
            organization=self.organization,
            member=self.member,
            channel_ids=data.get("channelID"),
            limit=data.get("limit", search.DEFAULT_LIMIT),
            query=data.get("query"),
        )
        return self.respond(render_messages(messages, member=self.member))
