"""FilterSets for members and roles: the one place their filtering is defined
(shared by the v2 API and the console)."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet

from apps.members.models import Member, Role
from apps.reports.models import Report, report_open_q


class MemberFilter(django_filters.FilterSet):
    """``search``: case-insensitive substring of displayName or userId;
    ``filter``: ``all`` or ``flagged`` (users with at least one open report)."""

    search = django_filters.CharFilter(method="filter_search")
    filter = django_filters.ChoiceFilter(
        choices=[("all", "all"), ("flagged", "flagged")], method="filter_flagged"
    )

    class Meta:
        model = Member
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet[Member], name: str, value: str) -> QuerySet[Member]:
        if not value:
            return queryset
        return queryset.filter(Q(display_name__icontains=value) | Q(user_id__icontains=value))

    def filter_flagged(self, queryset: QuerySet[Member], name: str, value: str) -> QuerySet[Member]:
        if value != "flagged":
            return queryset
        open_reports = Report.objects.filter(report_open_q(), target_member=OuterRef("pk"))
        return queryset.filter(Exists(open_reports))


class RoleFilter(django_filters.FilterSet):
    """``filter``: case-insensitive substring of the role id."""

    filter = django_filters.CharFilter(field_name="role_id", lookup_expr="icontains")

    class Meta:
        model = Role
        fields: list[str] = []
