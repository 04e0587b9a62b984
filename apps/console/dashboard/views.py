"""Console page: the dashboard (``/console/<org>/``).

Open reports, the last 24 hours' moderation actions, mutes and bans ending within 24
hours, the organization's counts and three 30-day charts, in a fixed number of queries
(9 of its own whatever the data size, 10 from 10,000 users on: the counts are one
statement, users "about N" beyond that): see docs/console/dashboard-and-review.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone

from apps.console.access import ConsoleView
from apps.console.charts import Series, bar_chart
from apps.console.links import Link
from apps.console.review import live
from apps.console.selectors import (
    Total,
    audit_since,
    dashboard_counts,
    ending_soon,
    last_days,
    moderation_actions_per_day,
    refusals_per_day,
    reports_per_day,
)
from apps.organizations.models import Organization
from apps.reports.selectors import report_list

#: How many days the charts cover, and how many of the last day's actions are listed.
CHART_DAYS = 30
RECENT_ACTIONS = 10
#: "Ending soon": mutes and bans whose end falls within this window (5 of each kind).
SOON = timedelta(hours=24)
SOON_LIMIT = 5

HUMAN_COLOR = "#0b5cad"
SYSTEM_COLOR = "#6e7781"
USERS_COLOR = "#9a6700"


def console_link(name: str, org: str, *args: str, fallback: str = "") -> str:
    """The URL of another console page (e.g. a channel's or a user's detail page), or of
    ``fallback`` (a list page, by URL name) when that page does not exist."""
    try:
        return reverse(f"console:{name}", args=[org, *args])
    except NoReverseMatch:
        if not fallback:
            return ""
        return reverse(f"console:{fallback}", args=[org])


def users_label(users: Total) -> str:
    """The users figure as the page shows it: ``"42"``, or ``"about 12000"``."""
    return f"{'' if users.exact else 'about '}{users.value}"


def live_figures(
    organization: Organization, *, day_ago: datetime
) -> tuple[dict[str, Any], dict[str, str]]:
    """The counts (``dashboard_counts``: one statement) and the texts of the figures
    the page refreshes (its ``data-live-value`` elements)."""
    counts = dashboard_counts(organization=organization, since=day_ago)
    values = {
        "open-reports": str(counts["open_reports"]),
        "actions-24h": str(counts["actions"]),
        "channels": str(counts["channels"]),
        "users": users_label(counts["users"]),
        "messages": f"≈ {counts['messages']}",
    }
    return counts, values


class DashboardLiveView(ConsoleView):
    """The dashboard's live twin (``live/``, JSON for ``static/console/live.js``): the
    figures, the latest actions' rows, and the reports opened since the cursor. Three
    queries of its own, whatever the data (four from 10,000 users on)."""

    section = "dashboard"

    def get(self, request: HttpRequest) -> HttpResponse:
        org = self.organization
        day_ago = timezone.now() - timedelta(hours=24)
        _, values = live_figures(org, day_ago=day_ago)
        recent = list(audit_since(organization=org, since=day_ago)[:RECENT_ACTIONS])
        rows = render_to_string(
            "console/dashboard/dashboard.html#recent-actions",
            self.context(recent_actions=recent),
            request,
        )
        since = live.parse_cursor(request.GET.get("since"))
        return live.live_response(
            request,
            values=values,
            rows=rows,
            empty=not recent,
            new=live.new_since(report_list(organization=org), since),
        )


class DashboardView(ConsoleView):
    section = "dashboard"

    def get(self, request: HttpRequest) -> HttpResponse:
        org = self.organization
        now = timezone.now()
        day_ago = now - timedelta(hours=24)
        recent = audit_since(organization=org, since=day_ago)
        days = last_days(days=CHART_DAYS, today=now.date())
        actions = moderation_actions_per_day(organization=org, days=days)
        reports = reports_per_day(organization=org, days=days)
        refusals = refusals_per_day(organization=org, days=days)
        soon = ending_soon(organization=org, now=now, until=now + SOON, limit=SOON_LIMIT)
        channel_link = Link("console:channel", org.slug)
        user_link = Link("console:user", org.slug)
        ending: list[dict[str, Any]] = []
        for channel in soon.channel_mutes:
            ending.append(
                {
                    "kind": "Channel mute",
                    "ends_at": channel.mute_expires_at,
                    "channel": channel.channel_id,
                    "channel_url": channel_link(channel.channel_id),
                }
            )
        for kind, rows, ends in (
            ("Mute", soon.member_mutes, "mute_expires_at"),
            ("Channel ban", soon.channel_bans, "ban_expires_at"),
        ):
            for row in rows:
                ending.append(
                    {
                        "kind": kind,
                        "ends_at": getattr(row, ends),
                        "channel": row.channel.channel_id,
                        "channel_url": channel_link(row.channel.channel_id),
                        "user": row.member.user_id,
                        "user_url": user_link(row.member.user_id),
                    }
                )
        for member in soon.global_bans:
            ending.append(
                {
                    "kind": "Global ban",
                    "ends_at": member.ban_expires_at,
                    "user": member.user_id,
                    "user_url": user_link(member.user_id),
                }
            )
        ending.sort(key=lambda row: row["ends_at"])
        counts, values = live_figures(org, day_ago=day_ago)
        return self.render(
            "console/dashboard/dashboard.html",
            counts=counts,
            actions_24h=counts.pop("actions"),
            recent_actions=list(recent[:RECENT_ACTIONS]),
            ending=ending,
            soon_limit=SOON_LIMIT,
            actions_chart=bar_chart(
                [
                    Series("By staff", actions["human"], HUMAN_COLOR),
                    Series("By the system", actions["system"], SYSTEM_COLOR),
                ],
                days,
                title=f"Moderation actions per day, last {CHART_DAYS} days",
                chart_id="chart-actions",
                unit="actions",
            ),
            reports_chart=bar_chart(
                [
                    Series("By users", reports["users"], USERS_COLOR),
                    Series("By the content filter", reports["system"], SYSTEM_COLOR),
                ],
                days,
                title=f"Reports opened per day, last {CHART_DAYS} days",
                chart_id="chart-reports",
                unit="reports",
            ),
            refusals_chart=bar_chart(
                [
                    Series("Blacklisted content", refusals["blacklisted"], HUMAN_COLOR),
                    Series("URL not whitelisted", refusals["not_whitelisted"], USERS_COLOR),
                ],
                days,
                title=f"Messages blocked by the content filter per day, last {CHART_DAYS} days",
                chart_id="chart-refusals",
                unit="messages",
            ),
            chart_days=CHART_DAYS,
            users_label=values["users"],
            live_url=reverse("console:dashboard_live", args=[org.slug]),
            live_since=live.live_cursor(),
            live_interval_ms=live.INTERVAL_MS,
        )


urlpatterns: list[URLPattern] = [
    path("", DashboardView.as_view(), name="dashboard"),
    path("live/", DashboardLiveView.as_view(), name="dashboard_live"),
]
