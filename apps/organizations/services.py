"""Writes on organizations, staff roles and tokens."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import Account
from apps.accounts.services import account_get_or_create
from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.core.errors import DomainError
from apps.core.publishing import publish_on_commit
from apps.organizations.models import AccessToken, Organization, StaffRole, hash_token
from apps.organizations.selectors import staff_role_of

TOKEN_PREFIXES = {
    AccessToken.Kind.ADMIN: "ca_adm_",
    AccessToken.Kind.API: "ca_api_",
    AccessToken.Kind.PERSONAL: "ca_pat_",
}

#: The largest auto-hide threshold accepted (a sanity bound, not a business rule).
MAX_AUTO_HIDE_THRESHOLD = 10_000
#: The longest grace period of a deleted chatroom (30 days) and the longest retention
#: of an event's chatroom after the event (ten years): sanity bounds.
MAX_CHATROOM_DELETION_GRACE_SECONDS = 30 * 24 * 3600
MAX_EVENT_CHATROOM_RETENTION_DAYS = 3650

#: PostgreSQL's built-in text search configurations (``pg_ts_config`` of PostgreSQL 15):
#: the languages message search accepts where the database cannot be asked (SQLite, where
#: search is a LIKE scan and the setting only takes effect once on PostgreSQL).
BUILTIN_SEARCH_LANGUAGES: tuple[str, ...] = (
    "arabic",
    "armenian",
    "basque",
    "catalan",
    "danish",
    "dutch",
    "english",
    "finnish",
    "french",
    "german",
    "greek",
    "hindi",
    "hungarian",
    "indonesian",
    "irish",
    "italian",
    "lithuanian",
    "nepali",
    "norwegian",
    "portuguese",
    "romanian",
    "russian",
    "serbian",
    "simple",
    "spanish",
    "swedish",
    "tamil",
    "turkish",
    "yiddish",
)
_SEARCH_LANGUAGE = re.compile(r"[a-z][a-z0-9_]{0,31}")


@dataclass(frozen=True)
class IssuedToken:
    token: AccessToken
    raw: str  # shown once, never stored


#: Slugs the console uses for its own pages (/console/<slug>/ would shadow them).
RESERVED_SLUGS = frozenset({"login", "logout", "password", "profile", "static", "admin"})


def organization_create(*, slug: str, name: str) -> Organization:
    if slug.lower() in RESERVED_SLUGS:
        raise DomainError(
            "invalid_parameter",
            f"{slug!r} is reserved for the console's own pages; choose another slug.",
            field="slug",
        )
    if Organization.objects.filter(slug=slug).exists():
        raise DomainError("conflict", f"An organization with slug {slug!r} already exists.")
    return Organization.objects.create(slug=slug, name=name)


def _token_issue(
    *,
    kind: str,
    account: Account,
    organization: Organization | None = None,
    name: str = "",
) -> IssuedToken:
    """Create a token of 256 random bits; only its hash is kept. Private: every caller
    outside this module issues through ``organization_token_issue`` (audited) or
    ``personal_token_issue``."""
    raw = TOKEN_PREFIXES[AccessToken.Kind(kind)] + secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        kind=kind,
        account=account,
        organization=organization,
        name=name,
        prefix=raw[:12],
        token_hash=hash_token(raw),
    )
    return IssuedToken(token=token, raw=raw)


@transaction.atomic
def _token_revoke(*, token: AccessToken) -> AccessToken:
    """Private: callers outside this module revoke through ``organization_token_revoke``
    (audited), ``personal_token_revoke`` or ``access_token_revoke``."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


_UNCHANGED: Any = ...


def search_language_choices() -> list[str]:
    """The text search configurations ``search_language`` may name: on PostgreSQL those of
    ``pg_ts_config`` reachable without a schema (built-in and installed ones), elsewhere
    :data:`BUILTIN_SEARCH_LANGUAGES`. Lower-case names only."""
    if connection.vendor != "postgresql":
        return list(BUILTIN_SEARCH_LANGUAGES)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT c.cfgname FROM pg_ts_config c JOIN pg_namespace n"
            " ON n.oid = c.cfgnamespace WHERE n.nspname = ANY(current_schemas(true))"
            " ORDER BY c.cfgname"
        )
        names = [row[0] for row in cursor.fetchall()]
    return [name for name in names if _SEARCH_LANGUAGE.fullmatch(name)]


def _check_search_language(value: Any) -> str:
    if not isinstance(value, str) or value not in search_language_choices():
        shown = repr(value[:40]) if isinstance(value, str) else "that"
        raise DomainError(
            "invalid_parameter",
            f"searchLanguage: {shown} is not a text search configuration of the database "
            "(e.g. simple, english, german).",
            field="searchLanguage",
        )
    return value


@transaction.atomic
def organization_settings_update(
    *,
    organization: Organization,
    actor: Actor,
    filter_policy: str | None = None,
    auto_hide_threshold: int | None = _UNCHANGED,
    chatroom_deletion_grace_seconds: int | None = None,
    event_chatroom_retention_days: int | None = None,
    search_language: str | None = None,
) -> Organization:
    """Change the organization's moderation settings; audited as ``organization.settings``.

    ``filter_policy``: block, flag or mask (None: unchanged). ``auto_hide_threshold``:
    hide a message at this many open reports, a whole number >= 1, or None to turn it
    off (leave the argument out: unchanged). ``chatroom_deletion_grace_seconds`` (0 to
    30 days in seconds) and ``event_chatroom_retention_days`` (0 to 3650): None
    unchanged; they apply to chatrooms deleted and events changed from now on (the audit
    entry lists them when given). ``search_language``: the text search configuration of
    message search (:func:`search_language_choices`; None unchanged); new and edited
    messages are indexed in it at once, and a change queues the re-index of the
    organization's other messages (``messages.search_reindex``: batches, each its own
    short transaction; beat re-finds a lost one). Bad values: 400 ``invalid_parameter``.
    """
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    before = {
        "filterPolicy": organization.filter_policy,
        "autoHideThreshold": organization.auto_hide_threshold,
    }
    fields: list[str] = []
    if filter_policy is not None:
        if filter_policy not in Organization.FilterPolicy.values:
            raise DomainError(
                "invalid_parameter",
                f"filterPolicy: must be one of {', '.join(Organization.FilterPolicy.values)}.",
                field="filterPolicy",
            )
        organization.filter_policy = filter_policy
        fields.append("filter_policy")
    if auto_hide_threshold is not _UNCHANGED:
        if auto_hide_threshold is not None and (
            isinstance(auto_hide_threshold, bool)
            or not isinstance(auto_hide_threshold, int)
            or not 1 <= auto_hide_threshold <= MAX_AUTO_HIDE_THRESHOLD
        ):
            raise DomainError(
                "invalid_parameter",
                f"autoHideThreshold: must be a whole number from 1 to "
                f"{MAX_AUTO_HIDE_THRESHOLD}, or empty (off).",
                field="autoHideThreshold",
            )
        organization.auto_hide_threshold = auto_hide_threshold
        fields.append("auto_hide_threshold")
    chatroom_settings = {
        "chatroom_deletion_grace_seconds": (
            chatroom_deletion_grace_seconds,
            "chatroomDeletionGraceSeconds",
            MAX_CHATROOM_DELETION_GRACE_SECONDS,
        ),
        "event_chatroom_retention_days": (
            event_chatroom_retention_days,
            "eventChatroomRetentionDays",
            MAX_EVENT_CHATROOM_RETENTION_DAYS,
        ),
    }
    extra_before: dict[str, Any] = {}
    extra_after: dict[str, Any] = {}
    for attr, (value, field, maximum) in chatroom_settings.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
            raise DomainError(
                "invalid_parameter",
                f"{field}: must be a whole number from 0 to {maximum}.",
                field=field,
            )
        extra_before[field] = getattr(organization, attr)
        setattr(organization, attr, value)
        extra_after[field] = value
        fields.append(attr)
    reindex = False
    if search_language is not None:
        search_language = _check_search_language(search_language)
        extra_before["searchLanguage"] = organization.search_language
        extra_after["searchLanguage"] = search_language
        reindex = search_language != organization.search_language
        organization.search_language = search_language
        fields.append("search_language")
    if reindex:  # the messages are re-indexed in batches by a worker, once committed
        organization.search_index_generation = F("search_index_generation") + 1
        fields.append("search_index_generation")
    if fields:
        organization.save(update_fields=fields)
        organization.refresh_from_db(fields=["search_index_generation"])
    if reindex:
        publish_on_commit(
            "messages.search_reindex",
            organization.pk,
            recovered_by="messages.search_reindex_sweep",
        )
    audit_record(
        organization=organization,
        actor=actor,
        action="organization.settings",
        target_type="organization",
        target_id=organization.slug,
        before={**before, **extra_before},
        after={
            "filterPolicy": organization.filter_policy,
            "autoHideThreshold": organization.auto_hide_threshold,
            **extra_after,
        },
    )
    return organization


# --- Console staff and admin access tokens (audited) ------------------------------------


@dataclass(frozen=True)
class StaffAdded:
    staff: StaffRole
    account_created: bool  # a new Account, without a password


def _acting_role(organization: Organization, actor: Actor) -> str | None:
    """The actor's console role here: the system and superusers act as owners; a token
    acts with its account's role."""
    if actor.is_system:
        return StaffRole.Role.OWNER
    account = actor.account if actor.account is not None else actor.token.account
    return staff_role_of(account=account, organization=organization)


def _check_staff_manager(organization: Organization, actor: Actor, *, owner_role: bool) -> None:
    """Admins and owners manage staff; only owners grant, change or remove the owner role."""
    role = _acting_role(organization, actor)
    if not StaffRole.role_at_least(role, StaffRole.Role.ADMIN):
        raise DomainError("forbidden", "Only owners and admins manage the staff.")
    if owner_role and role != StaffRole.Role.OWNER:
        raise DomainError("forbidden", "Only owners may grant or remove the owner role.")


def _check_role(role: str) -> None:
    if role not in StaffRole.Role.values:
        raise DomainError(
            "invalid_parameter",
            f"role: must be one of {', '.join(StaffRole.Role.values)}.",
            field="role",
        )


def _staff_for_update(organization: Organization, staff_id: int) -> StaffRole:
    # Staff changes of one organization queue on its row first (always in this order,
    # so two owners demoting each other at once cannot deadlock, and the second one
    # sees that only one owner is left).
    list(Organization.objects.select_for_update().filter(pk=organization.pk).values_list("pk"))
    staff = (
        StaffRole.objects.select_for_update()
        .select_related("account")
        .filter(organization=organization, pk=staff_id)
        .first()
    )
    if staff is None:
        raise DomainError("staff_not_found", "No such staff member.", field="staffId")
    return staff


def _check_not_last_owner(organization: Organization, staff: StaffRole) -> None:
    # The organization row is locked (_staff_for_update): this count cannot go stale.
    owners = list(
        StaffRole.objects.filter(organization=organization, role=StaffRole.Role.OWNER).values_list(
            "pk", flat=True
        )
    )
    if owners == [staff.pk]:
        raise DomainError(
            "last_owner",
            f"{staff.account.email} is the last owner of {organization.name}; make someone "
            "else an owner first.",
        )


@transaction.atomic
def staff_member_add(
    *, organization: Organization, actor: Actor, email: str, role: str
) -> StaffAdded:
    """Give the account with this email (created without a password if new) a console
    role here; audited as ``staff.add``. Already staff: 409 ``staff_exists``."""
    _check_role(role)
    _check_staff_manager(organization, actor, owner_role=role == StaffRole.Role.OWNER)
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise DomainError(
            "invalid_parameter", f"{email!r} is not a valid email address.", field="email"
        ) from exc
    account, created = account_get_or_create(email=email)
    current = StaffRole.objects.filter(organization=organization, account=account).first()
    if current is not None:
        raise DomainError(
            "staff_exists",
            f"{account.email} is already {current.role} of {organization.name}.",
            field="email",
        )
    staff = StaffRole.objects.create(organization=organization, account=account, role=role)
    audit_record(
        organization=organization,
        actor=actor,
        action="staff.add",
        target_type="account",
        target_id=account.email,
        after={"role": role, "accountCreated": created},
    )
    return StaffAdded(staff=staff, account_created=created)


@transaction.atomic
def staff_role_at_least(
    *, organization: Organization, actor: Actor, account: Account, role: str
) -> StaffRole:
    """Make the account staff here with at least ``role``: added if it is not staff
    (``staff.add``), raised if its role ranks lower (``staff.role``), kept otherwise."""
    staff = StaffRole.objects.filter(organization=organization, account=account).first()
    if staff is None:
        return staff_member_add(
            organization=organization, actor=actor, email=account.email, role=role
        ).staff
    if StaffRole.role_at_least(staff.role, role):
        return staff
    return staff_role_change(organization=organization, actor=actor, staff_id=staff.pk, role=role)


@transaction.atomic
def staff_role_change(
    *, organization: Organization, actor: Actor, staff_id: int, role: str
) -> StaffRole:
    """Change a staff member's role; audited as ``staff.role``. Only owners grant or take
    away the owner role; the last owner cannot be demoted (409 ``last_owner``)."""
    _check_role(role)
    staff = _staff_for_update(organization, staff_id)
    if staff.role == role:
        return staff
    owner_involved = StaffRole.Role.OWNER in (role, staff.role)
    _check_staff_manager(organization, actor, owner_role=owner_involved)
    if staff.role == StaffRole.Role.OWNER:
        _check_not_last_owner(organization, staff)
    before = {"role": staff.role}
    staff.role = role
    staff.save(update_fields=["role"])
    audit_record(
        organization=organization,
        actor=actor,
        action="staff.role",
        target_type="account",
        target_id=staff.account.email,
        before=before,
        after={"role": role},
    )
    return staff


@transaction.atomic
def staff_role_remove(*, organization: Organization, actor: Actor, staff_id: int) -> StaffRole:
    """Take away a staff member's console access here (the Account stays); audited as
    ``staff.remove``. Only owners remove owners; never the last owner."""
    staff = _staff_for_update(organization, staff_id)
    _check_staff_manager(organization, actor, owner_role=staff.role == StaffRole.Role.OWNER)
    if staff.role == StaffRole.Role.OWNER:
        _check_not_last_owner(organization, staff)
    before = {"role": staff.role}
    StaffRole.objects.filter(pk=staff.pk).delete()
    audit_record(
        organization=organization,
        actor=actor,
        action="staff.remove",
        target_type="account",
        target_id=staff.account.email,
        before=before,
    )
    return staff


def _describe_token(token: AccessToken) -> dict[str, Any]:
    return {"name": token.name, "prefix": token.prefix, "kind": token.kind}


#: The token kinds an organization holds (a personal token belongs to an Account).
ORGANIZATION_TOKEN_KINDS = (AccessToken.Kind.ADMIN, AccessToken.Kind.API)


def _token_name(name: str) -> str:
    name = (name or "").strip()
    max_length = AccessToken._meta.get_field("name").max_length
    if not name:
        raise DomainError("missing_parameter", "name: give the token a name.", field="name")
    if len(name) > max_length:
        raise DomainError(
            "invalid_parameter", f"name: at most {max_length} characters.", field="name"
        )
    return name


@transaction.atomic
def organization_token_issue(
    *,
    organization: Organization,
    actor: Actor,
    name: str,
    kind: str = AccessToken.Kind.ADMIN,
    account: Account | None = None,
) -> IssuedToken:
    """Issue a token of the organization: an Admin API access token (``kind`` admin) or
    an API-TOKEN of the chatroom service (``kind`` api); audited as ``token.issue``. The
    raw token is in the result only (never stored).

    The token is held by the acting account (the console); the system (the management
    commands) issues it for the ``account`` it names instead. Any other actor naming
    another account than its own: 403 ``forbidden``."""
    if kind not in ORGANIZATION_TOKEN_KINDS:
        raise DomainError(
            "invalid_parameter",
            f"kind: must be one of {', '.join(ORGANIZATION_TOKEN_KINDS)}.",
            field="kind",
        )
    name = _token_name(name)
    if account is None:
        account = actor.account
    elif not actor.is_system and account != actor.account:
        raise DomainError("forbidden", "Only the system issues a token held by another account.")
    if account is None:
        raise DomainError("forbidden", "Only a console account can issue access tokens.")
    issued = _token_issue(kind=kind, account=account, organization=organization, name=name)
    audit_record(
        organization=organization,
        actor=actor,
        action="token.issue",
        target_type="access_token",
        target_id=str(issued.token.pk),
        after=_describe_token(issued.token),
    )
    return issued


@transaction.atomic
def organization_token_revoke(
    *, organization: Organization, actor: Actor, token_id: int, kind: str | None = None
) -> AccessToken:
    """Revoke one of the organization's access tokens (of this ``kind`` when given: a
    token of another kind is then "not found"); idempotent: an already revoked token is
    returned as is, unaudited; audited as ``token.revoke``."""
    tokens = AccessToken.objects.select_for_update().filter(organization=organization)
    token = (tokens.filter(kind=kind) if kind else tokens).filter(pk=token_id).first()
    if token is None:
        raise DomainError("token_not_found", "No such access token.", field="tokenId")
    if token.revoked_at is not None:
        return token
    _token_revoke(token=token)
    audit_record(
        organization=organization,
        actor=actor,
        action="token.revoke",
        target_type="access_token",
        target_id=str(token.pk),
        before=_describe_token(token),
    )
    return token


# --- Personal access tokens (an Account's own, no organization) ---------------------------
# Not audited: the audit log is per organization and a personal token belongs to no
# organization. The token row itself keeps the trail (created_at, last_used_at,
# revoked_at); what is done WITH the token is audited in each organization as usual.


@transaction.atomic
def personal_token_issue(*, account: Account, name: str) -> IssuedToken:
    """Issue a Personal-Access-Token of ``account`` for itself (organization NULL). The raw
    token is in the result only (never stored)."""
    return _token_issue(
        kind=AccessToken.Kind.PERSONAL, account=account, organization=None, name=_token_name(name)
    )


@transaction.atomic
def personal_token_revoke(*, account: Account, token_id: int) -> AccessToken:
    """Revoke one of ``account``'s personal tokens (idempotent); another account's token
    is 404 ``token_not_found``, exactly like an unknown id."""
    token = (
        AccessToken.objects.select_for_update()
        .filter(account=account, kind=AccessToken.Kind.PERSONAL, pk=token_id)
        .first()
    )
    if token is None:
        raise DomainError("token_not_found", "No such access token.", field="tokenId")
    return _token_revoke(token=token)


@transaction.atomic
def access_token_revoke(*, actor: Actor, token: AccessToken) -> AccessToken:
    """Revoke any token, of whatever kind (the management commands, the admin site):
    an organization's token through ``organization_token_revoke`` (audited as
    ``token.revoke`` in its organization), a personal token through
    ``personal_token_revoke`` (unaudited, like every personal token). Idempotent."""
    if token.organization_id is not None:
        return organization_token_revoke(
            organization=token.organization, actor=actor, token_id=token.pk
        )
    return personal_token_revoke(account=token.account, token_id=token.pk)
