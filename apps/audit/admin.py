from django.contrib import admin

from apps.audit.models import AuditEntry
from apps.core.admin import LargeTableAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(LargeTableAdmin):
    """The audit log, append-only: read-only here like every ``LargeTableAdmin``."""

    list_display = [
        "created_at",
        "organization",
        "actor_label",
        "action",
        "target_type",
        "target_id",
    ]
    list_select_related = ["organization"]
    search_exact = ["target_id", "action"]
    search_prefix = ["actor_label"]
    raw_id_fields = ["organization", "actor_account", "actor_token"]
    show_full_result_count = False
