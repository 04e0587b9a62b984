from django.contrib import admin

from apps.audit.models import AuditEntry
from apps.core.admin import LargeTableAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(LargeTableAdmin):
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

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
