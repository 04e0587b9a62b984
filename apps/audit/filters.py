"""django-filter FilterSet for the audit log: the one place its filtering is defined,
shared by the console's audit page and its CSV export."""

from __future__ import annotations

import django_filters
from django import forms

from apps.audit.models import AuditEntry


class AuditEntryFilterSet(django_filters.FilterSet):
    """Filters of the audit log (every one optional, combined with AND).

    - ``actor``: the actor's label (an email, a token's description, ``system``)
      contains this text, ignoring case;
    - ``action``: exactly this action (``channel.close``, ``staff.add``, ...);
    - ``target_type`` and ``target_id``: exactly this target (the ``audit_target`` index);
    - ``since`` / ``until``: ``since <= created_at < until`` (ISO 8601; a date alone is
      its midnight, in the site's time zone when no offset is given).
    """

    actor = django_filters.CharFilter(
        field_name="actor_label", lookup_expr="icontains", max_length=255, label="Actor"
    )
    action = django_filters.CharFilter(field_name="action", max_length=64, label="Action")
    target_type = django_filters.CharFilter(
        field_name="target_type", max_length=32, label="Target type"
    )
    target_id = django_filters.CharFilter(field_name="target_id", max_length=255, label="Target id")
    since = django_filters.IsoDateTimeFilter(
        field_name="created_at",
        lookup_expr="gte",
        label="From",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="created_at",
        lookup_expr="lt",
        label="Until",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    class Meta:
        model = AuditEntry
        fields: list[str] = []
