"""Accounts in the Django admin: Django's own account management, and nothing more.

Accounts are global (no organization, so no audit entry of ours; Django's admin log
records who changed what). Kept from Django's user admin: creating an account with a
password, changing a password, names, email, ``is_active`` (deactivating locks the
console login and every token of the account at once), ``is_staff`` / ``is_superuser``
/ groups (who may use this site). Not kept: deleting an account, which would cascade to
its staff roles (possibly an organization's last owner) and tokens without an audit
entry: deactivate it instead. Staff roles are changed on the staff role admin (audited
services) or in the console; login dates are read-only.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from apps.accounts.models import Account
from apps.core.admin import ReadOnlyAdmin


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin, UserAdmin):
    allowed_writes = frozenset({"add", "change"})  # Django's account management; no delete
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "first_name", "last_name"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
