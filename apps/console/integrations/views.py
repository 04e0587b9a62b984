"""Console pages: the organization's integrations (Rocket.Chat integrations, Stackfield
webhook URLs, messaging API webhooks), one integration with its history, and a
channel's integrations.

Moderators read (the list, a detail page, a channel's integrations); admins and owners
create, edit, enable/disable, regenerate secrets and delete (403 for moderators, 404 for
another organization's ids, as everywhere in the console). Every write goes through
apps/integrations/services/integrations.py, so the field checks and the audit entries
are the same as the APIs'. A secret (a URL's token, an outgoing integration's signing
secret) exists only in the response that made it: it is rendered once, never redirected
to; a URL's token is stored as a hash, a signing secret encrypted.

An outgoing integration's page is its deliveries log (apps/integrations/services/
delivery.py: newest first, filtered by status) with a redeliver button per finished
delivery, "send a test event", the signing secret's rotation and how a receiver checks
the signature.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from apps.channels.models import Channel
from apps.channels.selectors.channels import channel_get
from apps.console.access import ConsoleView, Role, has_role, safe_next
from apps.console.channels.views import channel_or_404
from apps.console.integrations.forms import (
    ConfirmForm,
    DeliveryFilterForm,
    EnabledForm,
    IntegrationFilterForm,
    IntegrationForm,
    MessagingWebhookForm,
    RocketChatIncomingForm,
    RocketChatOutgoingForm,
    WebhookUrlEditForm,
    WebhookUrlForm,
)
from apps.console.paging import console_page
from apps.core.errors import DomainError
from apps.integrations.models import Delivery, Integration, IntegrationHistory
from apps.integrations.selectors import (
    delivery_get,
    integration_deliveries,
    integration_get,
    integration_history,
    integrations_visible,
)
from apps.integrations.services.delivery import delivery_replay
from apps.integrations.services.integrations import (
    IssuedIntegration,
    integration_create,
    integration_remove,
    integration_signing_secret_rotate,
    integration_token_regenerate,
    integration_update,
)
from apps.integrations.services.outgoing import delivery_test_send
from apps.integrations.services.stackfield import stackfield_url_create

Flavor = Integration.Flavor
Direction = Integration.Direction

INTEGRATION_SORTS = {"newest": "-pk", "name": "name", "last_call": "-last_called_at"}
SORT_LABELS = [("newest", "Newest"), ("name", "Name"), ("last_call", "Last call")]
HISTORY_SORTS = {"newest": "-pk"}
DELIVERY_SORTS = {"newest": "-created_at"}
#: Integrations listed on a channel's page (the organization's page pages through all).
CHANNEL_LIMIT = 100


# --- helpers ---------------------------------------------------------------------------


def incoming_path(integration: Integration, secret: str) -> str:
    """The public path of an incoming integration's URL with its secret (the documents'
    paths: Rocket.Chat's ``/hooks/{id}/{token}``, Stackfield's ``/apiwh/{uuid}``, the
    messaging API's ``/api/messaging/webhooks/{id}/{token}``)."""
    if integration.flavor == Flavor.STACKFIELD:
        return f"/apiwh/{secret}"
    if integration.flavor == Flavor.ROCKETCHAT:
        return f"/hooks/{integration.pk}/{secret}"
    return f"/api/messaging/webhooks/{integration.pk}/{secret}"


def _named_in_targets(channel: Channel) -> Q:
    """Rocket.Chat integrations whose ``targets`` name ``channel`` (``#channelId`` or
    ``#display name``, as the service resolves them). PostgreSQL: ``targets @> [...]``;
    SQLite (no JSON ``contains``): ``json_each`` in an EXISTS."""
    names = [f"#{channel.channel_id}"]
    if channel.display_name and channel.display_name != channel.channel_id:
        names.append(f"#{channel.display_name}")
    if connection.features.supports_json_field_contains:
        found = Q(pk__in=[])
        for name in names:
            found |= Q(targets__contains=[name])
        return found
    table = connection.ops.quote_name(Integration._meta.db_table)
    marks = ", ".join(["%s"] * len(names))
    sql = f"EXISTS (SELECT 1 FROM json_each({table}.targets) AS t WHERE t.value IN ({marks}))"
    return Q(RawSQL(sql, names, output_field=BooleanField()))


def _initial(integration: Integration) -> dict[str, Any]:
    """The edit form's values: the integration as stored, lists one item per line."""
    return {
        "name": integration.name,
        "kind": integration.kind,
        "channel": integration.channel.channel_id if integration.channel_id else "",
        "targets": "\n".join(integration.targets),
        "username": integration.bot.user_id if integration.bot_id else "",
        "alias": integration.alias,
        "emoji": integration.emoji,
        "avatar_url": integration.avatar_url,
        "override_channel": integration.override_channel,
        "script_enabled": integration.script_enabled,
        "script": integration.script,
        "event": integration.event,
        "trigger_words": "\n".join(integration.trigger_words),
        "trigger_word_anywhere": integration.trigger_word_anywhere,
        "urls": "\n".join(integration.urls),
        "target_room": integration.target_room,
        "run_on_edits": integration.run_on_edits,
        "impersonate_user": integration.impersonate_user,
        "retry_failed_calls": integration.retry_failed_calls,
        "retry_count": integration.retry_count,
        "retry_delay": integration.retry_delay,
    }


def previous_secret_until(integration: Integration) -> datetime | None:
    """When the previous signing secret stops signing, while it still does (else None)."""
    until = integration.previous_signing_secret_until
    if integration.previous_signing_secret and until is not None and until > timezone.now():
        return until
    return None


def grace_hours() -> float:
    """How long a rotated-out signing secret keeps signing (``WEBHOOK_SECRET_GRACE_HOURS``)."""
    return float(settings.CHATADMIN["WEBHOOK_SECRET_GRACE_HOURS"])


def form_class_of(integration: Integration) -> type[IntegrationForm]:
    if integration.flavor == Flavor.ROCKETCHAT:
        if integration.is_incoming:
            return RocketChatIncomingForm
        return RocketChatOutgoingForm
    if integration.flavor == Flavor.STACKFIELD:
        return WebhookUrlEditForm
    return MessagingWebhookForm


# --- base ------------------------------------------------------------------------------


class IntegrationsView(ConsoleView):
    section = "integrations"

    @property
    def can_manage(self) -> bool:
        return has_role(self.role, Role.ADMIN)

    def integration_or_404(self, pk: int) -> Integration:
        """This organization's integration, or 404 like any unknown id."""
        try:
            return integration_get(organization=self.organization, integration_id=pk)
        except DomainError as exc:
            raise Http404(exc.message) from exc

    def detail_url(self, integration: Integration) -> str:
        return reverse("console:integration", args=[self.organization.slug, integration.pk])

    def show_secret(self, integration: Integration, secret: str, *, made: str) -> HttpResponse:
        """The page with the URL and its secret: rendered, never redirected to, never
        cached, so it is shown exactly once."""
        url = self.request.build_absolute_uri(incoming_path(integration, secret))
        response = self.render(
            "console/integrations/secret.html", integration=integration, url=url, made=made
        )
        response["Cache-Control"] = "no-store"
        return response

    def show_signing_secret(
        self, integration: Integration, secret: str, *, made: str
    ) -> HttpResponse:
        """The page with an outgoing integration's new signing secret (``whsec_...``):
        like the URL page, rendered once, never cached; only its encrypted form is kept."""
        response = self.render(
            "console/integrations/signing_secret.html",
            integration=integration,
            secret=secret,
            made=made,
            previous_until=previous_secret_until(integration),
            grace_hours=grace_hours(),
        )
        response["Cache-Control"] = "no-store"
        return response

    def resolve_channel(self, form: IntegrationForm, values: dict[str, Any]) -> bool:
        """``values["channel"]`` (a channelId typed in the form) as this organization's
        channel (None when empty); False, with the error on the form, if there is none."""
        if "channel" not in values:
            return True
        channel_id = values["channel"]
        if not channel_id:
            values["channel"] = None
            return True
        try:
            values["channel"] = channel_get(organization=self.organization, channel_id=channel_id)
        except DomainError as exc:
            form.add_error("channel", exc.message)
            return False
        return True


class IntegrationManageView(IntegrationsView):
    min_role = Role.ADMIN


# --- the organization's list -----------------------------------------------------------


class IntegrationListView(IntegrationsView):
    def get(self, request: HttpRequest) -> HttpResponse:
        form = IntegrationFilterForm(request.GET or None)
        data = form.cleaned_data if form.is_valid() else {}
        queryset = integrations_visible(organization=self.organization, member=None)
        if flavor := data.get("flavor"):
            queryset = queryset.filter(flavor=flavor)
        if direction := data.get("direction"):
            queryset = queryset.filter(direction=direction)
        if data.get("enabled") in ("yes", "no"):
            queryset = queryset.filter(enabled=data["enabled"] == "yes")
        digest = hashlib.sha256(
            json.dumps([data.get(k) or "" for k in ("flavor", "direction", "enabled")]).encode()
        ).hexdigest()[:16]
        page = console_page(
            request,
            queryset,
            scope=f"integrations:{self.organization.pk}:{digest}",
            sorts=INTEGRATION_SORTS,
            default_sort="newest",
        )
        return self.render(
            "console/integrations/list.html",
            form=form,
            page=page,
            sorts=SORT_LABELS,
            can_manage=self.can_manage,
        )


# --- create ----------------------------------------------------------------------------


class IntegrationCreateView(IntegrationManageView):
    """GET the form; POST creates. An incoming one answers its URL once."""

    form_class: type[IntegrationForm] = IntegrationForm
    flavor: str = Flavor.ROCKETCHAT
    direction: str = Direction.INCOMING
    title = ""

    def initial(self) -> dict[str, Any]:
        return {}

    def page(self, form: IntegrationForm, status: int = 200) -> HttpResponse:
        return self.render(
            "console/integrations/form.html",
            status=status,
            form=form,
            title=self.title,
            action=self.request.path,
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(self.form_class(initial=self.initial()))

    def create(self, values: dict[str, Any]) -> IssuedIntegration:
        return integration_create(
            organization=self.organization,
            actor=self.actor,
            flavor=self.flavor,
            direction=self.direction,
            **values,
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form_class(request.POST)
        if form.is_valid():
            values = form.values()
            if self.resolve_channel(form, values):
                try:
                    issued = self.create(values)
                except DomainError as exc:
                    form.add_service_error(exc.field, exc.message)
                else:
                    integration = issued.integration
                    if issued.token is not None:
                        return self.show_secret(integration, issued.token, made="created")
                    if issued.signing_secret is not None:
                        return self.show_signing_secret(
                            integration, issued.signing_secret, made="created"
                        )
                    messages.success(request, f"Created “{integration}”.")
                    return redirect(self.detail_url(integration))
        messages.error(request, "Nothing was created: see the errors below.")
        return self.page(form, status=400)


class IncomingCreateView(IntegrationCreateView):
    form_class = RocketChatIncomingForm
    title = "New incoming integration (Rocket.Chat)"


class OutgoingCreateView(IntegrationCreateView):
    form_class = RocketChatOutgoingForm
    direction = Direction.OUTGOING
    title = "New outgoing integration (Rocket.Chat)"


class WebhookUrlCreateView(IntegrationCreateView):
    """A Stackfield webhook URL (its kind's rules and its bot are the Stackfield
    service's); ``?channel=`` and ``?kind=`` preselect (the channel tab's shortcut)."""

    form_class = WebhookUrlForm
    title = "New webhook URL (Stackfield)"

    def initial(self) -> dict[str, Any]:
        initial: dict[str, Any] = {"channel": self.request.GET.get("channel", "")[:128]}
        if kind := self.request.GET.get("kind"):
            initial["kind"] = kind[:32]
        return initial

    def create(self, values: dict[str, Any]) -> IssuedIntegration:
        return stackfield_url_create(organization=self.organization, actor=self.actor, **values)


# --- one integration -------------------------------------------------------------------


class IntegrationDetailView(IntegrationsView):
    """An integration's fields and actions, then its log: an incoming one's calls
    (history), an outgoing one's deliveries (``?status=`` filters them)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        integration = self.integration_or_404(pk)
        if not integration.is_incoming:
            return self.outgoing(request, integration)
        history: QuerySet[IntegrationHistory] = integration_history(integration=integration)
        page = console_page(
            request,
            history,
            scope=f"integration-history:{self.organization.pk}:{integration.pk}",
            sorts=HISTORY_SORTS,
            default_sort="newest",
        )
        masked = (
            request.build_absolute_uri(incoming_path(integration, integration.token_prefix)) + "…"
        )
        return self.render(
            "console/integrations/detail.html",
            integration=integration,
            page=page,
            history_rows=[(h, json.dumps(h.data, indent=2, default=str)) for h in page.items],
            masked_url=masked,
            can_manage=self.can_manage,
        )

    def outgoing(self, request: HttpRequest, integration: Integration) -> HttpResponse:
        form = DeliveryFilterForm(request.GET or None)
        status = form.cleaned_data.get("status", "") if form.is_valid() else ""
        deliveries: QuerySet[Delivery] = integration_deliveries(integration=integration)
        if status:
            deliveries = deliveries.filter(status=status)
        page = console_page(
            request,
            deliveries,
            scope=f"integration-deliveries:{self.organization.pk}:{integration.pk}:{status}",
            sorts=DELIVERY_SORTS,
            default_sort="newest",
        )
        return self.render(
            "console/integrations/detail.html",
            integration=integration,
            page=page,
            form=form,
            status_filter=status,
            several_urls=len(integration.urls) > 1,
            previous_until=previous_secret_until(integration),
            can_manage=self.can_manage,
        )


class IntegrationEditView(IntegrationManageView):
    def form(self, integration: Integration, data: Any = None) -> IntegrationForm:
        return form_class_of(integration)(data, initial=_initial(integration))

    def page(self, integration: Integration, form: IntegrationForm, status: int = 200) -> Any:
        return self.render(
            "console/integrations/form.html",
            status=status,
            form=form,
            integration=integration,
            title=f"Edit “{integration}”",
            action=self.request.path,
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        integration = self.integration_or_404(pk)
        return self.page(integration, self.form(integration))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        integration = self.integration_or_404(pk)
        form = self.form(integration, request.POST)
        if form.is_valid():
            # Only what was changed: an unchanged field is not checked again (a target
            # channel closed since stays as it is until someone edits the targets).
            values = form.values(only=form.changed_data)
            if not values:
                messages.info(request, "Nothing was changed.")
                return redirect(self.detail_url(integration))
            try:
                integration = integration_update(
                    actor=self.actor, integration=integration, **values
                )
            except DomainError as exc:
                form.add_service_error(exc.field, exc.message)
            else:
                messages.success(request, f"Saved “{integration}”.")
                if integration.script_error:
                    messages.warning(
                        request, f"The script has an error: {integration.script_error}"
                    )
                return redirect(self.detail_url(integration))
        messages.error(request, "Nothing was saved: see the errors below.")
        return self.page(integration, form, status=400)


class IntegrationEnabledView(IntegrationManageView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        integration = self.integration_or_404(pk)
        form = EnabledForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Nothing was changed: choose enable or disable.")
            return redirect(self.detail_url(integration))
        try:
            integration = integration_update(
                actor=self.actor, integration=integration, enabled=form.cleaned_data["enabled"]
            )
        except DomainError as exc:
            messages.error(request, f"Nothing was changed. {exc.message}")
        else:
            state = "enabled" if integration.enabled else "disabled: its calls are refused"
            messages.success(request, f"“{integration}” is {state}.")
        return redirect(self.detail_url(integration))


class ConfirmView(IntegrationManageView):
    """GET: what will happen and a box to tick; POST: do it if the box is ticked."""

    template = ""

    def page(self, integration: Integration, form: ConfirmForm, status: int = 200) -> Any:
        return self.render(self.template, status=status, integration=integration, form=form)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        integration = self.integration_or_404(pk)
        return self.page(integration, ConfirmForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        integration = self.integration_or_404(pk)
        form = ConfirmForm(request.POST)
        if not form.is_valid():
            return self.page(integration, form, status=400)
        try:
            return self.perform(integration)
        except DomainError as exc:
            form.add_error(None, exc.message)
            return self.page(integration, form, status=400)

    def perform(self, integration: Integration) -> HttpResponse:
        raise NotImplementedError


class IntegrationRegenerateView(ConfirmView):
    template = "console/integrations/regenerate.html"

    def perform(self, integration: Integration) -> HttpResponse:
        secret = integration_token_regenerate(actor=self.actor, integration=integration)
        return self.show_secret(integration, secret, made="regenerated")


class IntegrationSecretRotateView(ConfirmView):
    """An outgoing integration's new signing secret, shown once; the current one keeps
    signing for ``WEBHOOK_SECRET_GRACE_HOURS`` (the confirmation page says so)."""

    template = "console/integrations/rotate.html"

    def page(self, integration: Integration, form: ConfirmForm, status: int = 200) -> Any:
        return self.render(
            self.template,
            status=status,
            integration=integration,
            form=form,
            grace_hours=grace_hours(),
            previous_until=previous_secret_until(integration),
        )

    def perform(self, integration: Integration) -> HttpResponse:
        secret = integration_signing_secret_rotate(actor=self.actor, integration=integration)
        integration.refresh_from_db()
        return self.show_signing_secret(integration, secret, made="rotated")


class IntegrationDeleteView(ConfirmView):
    template = "console/integrations/delete.html"

    def perform(self, integration: Integration) -> HttpResponse:
        name = str(integration)
        integration_remove(actor=self.actor, integration=integration)
        messages.success(self.request, f"Deleted “{name}”: its URL is refused; its messages stay.")
        return redirect("console:integrations", self.organization.slug)


class DeliveryActionView(IntegrationManageView):
    """A POST on an outgoing integration's deliveries; back to the page it came from
    (``next``, a path of this organization's console) with a message, never a 500."""

    http_method_names = ["post"]

    def back(self, integration: Integration) -> HttpResponse:
        fallback = self.detail_url(integration) + "#deliveries"
        return redirect(
            safe_next(self.request, self.organization.slug, self.request.POST.get("next"), fallback)
        )


class DeliveryRedeliverView(DeliveryActionView):
    """POST ``delivery`` (its id or webhook-id): the finished delivery is sent again, with
    the same webhook-id (``delivery_replay``). Another integration's delivery is 404."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        integration = self.integration_or_404(pk)
        given = request.POST.get("delivery", "").strip()
        if not given:
            messages.error(request, "Nothing was sent: which delivery?")
            return self.back(integration)
        try:
            delivery = delivery_get(integration=integration, delivery_id=given)
        except DomainError as exc:
            raise Http404(exc.message) from exc
        try:
            delivery = delivery_replay(actor=self.actor, delivery=delivery)
        except DomainError as exc:
            messages.error(request, f"Nothing was sent. {exc.message}")
        else:
            messages.success(
                request,
                f"Delivery {delivery.webhook_id} is queued to be sent again "
                "(same webhook-id: a receiver that has it already can skip it).",
            )
        return self.back(integration)


class IntegrationTestSendView(DeliveryActionView):
    """POST: a ``test`` event to the integration's URLs (``delivery_test_send``), shown in
    the deliveries log like any other; a refusal (disabled, incoming) is a message."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        integration = self.integration_or_404(pk)
        try:
            delivery = delivery_test_send(actor=self.actor, integration=integration)
        except DomainError as exc:
            messages.error(request, f"No test event was sent. {exc.message}")
        else:
            messages.success(
                request,
                f"A test event is queued ({delivery.webhook_id}): it shows in the deliveries "
                "below once it is sent.",
            )
        return self.back(integration)


# --- a channel's integrations ----------------------------------------------------------


class ChannelIntegrationsView(IntegrationsView):
    """The integrations bound to a channel (``channel``) or naming it in their targets."""

    section = "channels"

    def get(self, request: HttpRequest, channel_id: str) -> HttpResponse:
        channel = channel_or_404(self.organization, channel_id)
        rows = list(
            integrations_visible(organization=self.organization, member=None)
            .filter(Q(channel=channel) | _named_in_targets(channel))
            .order_by("-pk")[: CHANNEL_LIMIT + 1]
        )
        return self.render(
            "console/integrations/channel.html",
            channel=channel,
            integrations=rows[:CHANNEL_LIMIT],
            more=len(rows) > CHANNEL_LIMIT,
            limit=CHANNEL_LIMIT,
            can_manage=self.can_manage,
        )


def _integration_path(suffix: str, view: Any, name: str) -> URLPattern:
    return path(f"integrations/<int:pk>/{suffix}", view, name=name)


urlpatterns: list[URLPattern] = [
    path("integrations/", IntegrationListView.as_view(), name="integrations"),
    path(
        "integrations/new/incoming/",
        IncomingCreateView.as_view(),
        name="integration_new_incoming",
    ),
    path(
        "integrations/new/outgoing/",
        OutgoingCreateView.as_view(),
        name="integration_new_outgoing",
    ),
    path(
        "integrations/new/webhook-url/",
        WebhookUrlCreateView.as_view(),
        name="integration_new_webhook_url",
    ),
    _integration_path("", IntegrationDetailView.as_view(), "integration"),
    _integration_path("edit/", IntegrationEditView.as_view(), "integration_edit"),
    _integration_path("enabled/", IntegrationEnabledView.as_view(), "integration_enabled"),
    _integration_path("regenerate/", IntegrationRegenerateView.as_view(), "integration_regenerate"),
    _integration_path("delete/", IntegrationDeleteView.as_view(), "integration_delete"),
    _integration_path(
        "signing-secret/rotate/", IntegrationSecretRotateView.as_view(), "integration_secret_rotate"
    ),
    _integration_path("redeliver/", DeliveryRedeliverView.as_view(), "integration_redeliver"),
    _integration_path("test/", IntegrationTestSendView.as_view(), "integration_test_send"),
    path(
        "channels/<str:channel_id>/integrations/",
        ChannelIntegrationsView.as_view(),
        name="channel_integrations",
    ),
]
