"""Console pages for an organization's events (calendar events): the list (upcoming
first, search by title), creating and editing one (title, start, end, participants).

Each event owns a chatroom of type ``event`` (the services create and update it): the
pages show it, with a link to its channel page, and its scheduled deletion (the event's
end plus the organization's retention; moving the end moves it).

Roles: moderators and up SEE the events (the list and an event's page, read-only: they
moderate the event chatrooms); admins and owners CREATE and EDIT them (an event decides
who is in a chatroom, which is an administration decision, like the staff and tokens).
Writes go through apps/calendar_events/services.py (validation, the chatroom, the audit
entry ``calendar_event.*``).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import URLPattern, path
from django.utils import timezone

from apps.calendar_events import services
from apps.calendar_events.models import CalendarEvent
from apps.calendar_events.selectors import calendar_event_get, calendar_events_of_organization
from apps.channels.models import Channel
from apps.console.access import ConsoleView, Role, has_role
from apps.console.events.forms import EventForm, EventSearchForm
from apps.console.paging import console_page
from apps.core.errors import DomainError
from apps.members.models import Member

EVENT_SORTS = {"soonest": "starts_at", "latest": "-starts_at", "title": "title"}
SORT_LABELS = [
    ("soonest", "Start, soonest first"),
    ("latest", "Start, latest first"),
    ("title", "Title"),
]
#: Form fields the services' error ``field`` names map to.
SERVICE_FIELDS = {
    "title": "title",
    "start": "starts_at",
    "end": "ends_at",
    "participants": "participants",
}


class EventsView(ConsoleView):
    """The list: moderators and up."""

    section = "events"

    @property
    def can_edit(self) -> bool:
        return has_role(self.role, Role.ADMIN)

    def require_editor(self) -> None:
        if not self.can_edit:
            raise PermissionDenied("Creating and editing events needs the admin role.")

    def events(self, search: str, when: str, now: datetime) -> QuerySet[CalendarEvent]:
        """One page's query: the events with their chatroom (joined) and the number of
        participants (annotated), so the list costs the same for 1 and 50 events."""
        queryset = (
            calendar_events_of_organization(organization=self.organization)
            .prefetch_related(None)
            .select_related("chatroom")
            .annotate(participant_count=Count("participants", distinct=True))
        )
        if search:
            queryset = queryset.filter(title__icontains=search)
        if when == "upcoming":
            queryset = queryset.filter(ends_at__gte=now)
        elif when == "past":
            queryset = queryset.filter(ends_at__lt=now)
        return queryset

    def get(self, request: HttpRequest) -> HttpResponse:
        form = EventSearchForm(request.GET)
        search, when = "", "upcoming"
        if form.is_valid():
            search = form.cleaned_data["q"].strip()
            when = form.cleaned_data["when"] or "upcoming"
        now = timezone.now()
        page = console_page(
            request,
            self.events(search, when, now),
            scope=f"events:{self.organization.pk}:{when}:{search}",
            sorts=EVENT_SORTS,
            default_sort="latest" if when == "past" else "soonest",
        )
        return self.render(
            "console/events/list.html",
            page=page,
            form=form,
            search=search,
            when=when,
            now=now,
            sorts=SORT_LABELS,
            can_edit=self.can_edit,
        )


class EventCreateView(EventsView):
    min_role = Role.ADMIN

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_form(EventForm(organization=self.organization))

    def render_form(self, form: EventForm, status: int = 200) -> HttpResponse:
        return self.render("console/events/form.html", status=status, form=form, event=None)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = EventForm(request.POST, organization=self.organization)
        if form.is_valid():
            data = form.cleaned_data
            try:
                event = services.calendar_event_create(
                    organization=self.organization,
                    actor=self.actor,
                    title=data["title"],
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    participants=data["participants"],
                )
            except DomainError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, f"Created the event “{event.title}” and its chatroom.")
                return redirect("console:event", self.organization.slug, event.pk)
        messages.error(request, "The event was not created: see the errors below.")
        return self.render_form(form, status=400)


class EventDetailView(EventsView):
    """An event's page: read-only for moderators, the edit form for admins (POST)."""

    def event_or_404(self, pk: int) -> CalendarEvent:
        try:
            return calendar_event_get(organization=self.organization, event_id=pk)
        except DomainError as exc:
            raise Http404(exc.message) from exc

    def chatroom(self, event: CalendarEvent) -> Channel | None:
        return Channel.objects.filter(calendar_event=event).first()

    def participants(self, event: CalendarEvent) -> list[Member]:
        return list(event.participants.select_related("account").order_by("user_id"))

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        event = self.event_or_404(pk)
        participants = self.participants(event)
        form = EventForm(
            organization=self.organization,
            initial={
                "title": event.title,
                "starts_at": event.starts_at,
                "ends_at": event.ends_at,
                "participants": "\n".join(m.user_id for m in participants),
            },
        )
        return self.render_event(event, form, participants)

    def render_event(
        self, event: CalendarEvent, form: EventForm, participants: list[Member], status: int = 200
    ) -> HttpResponse:
        return self.render(
            "console/events/form.html",
            status=status,
            event=event,
            form=form,
            participants=participants,
            chatroom=self.chatroom(event),
            can_edit=self.can_edit,
        )

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        event = self.event_or_404(pk)
        self.require_editor()
        form = EventForm(request.POST, organization=self.organization)
        if form.is_valid():
            data = form.cleaned_data
            try:
                event = services.calendar_event_update(
                    event=event,
                    actor=self.actor,
                    title=data["title"],
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    participants=data["participants"],
                )
            except DomainError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, f"Saved the event “{event.title}”.")
                return redirect("console:event", self.organization.slug, event.pk)
        messages.error(request, "The event was not saved: see the errors below.")
        return self.render_event(event, form, self.participants(event), status=400)


def add_service_error(form: EventForm, exc: DomainError) -> None:
    """Show a service's refusal under the field it names (else above the form)."""
    field = SERVICE_FIELDS.get(getattr(exc, "field", None) or "")
    form.add_error(field, exc.message)


urlpatterns: list[URLPattern] = [
    path("events/", EventsView.as_view(), name="events"),
    path("events/new/", EventCreateView.as_view(), name="event_create"),
    path("events/<int:pk>/", EventDetailView.as_view(), name="event"),
]
