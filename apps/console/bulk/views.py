"""Console bulk actions (issue 16): tick rows on a list (the review queue, messages,
users, a channel's members) or "select all N matching" its filters, pick an action, then
confirm on a page that names the count ("Delete 3,214 messages?") with one reason.

Up to ``BULK_SYNC_LIMIT`` targets are done in the request (each through the single
action's service, audited per target); more become a job run by a Celery task in chunks,
with a progress page (``bulk/jobs/?job=<id>``, refreshed by static/console/bulk.js from
``bulk/jobs/status/``). See docs/console/bulk.md.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import path, reverse

from apps.channels.models import Channel
from apps.channels.selectors.channels import channel_get
from apps.console.access import ConsoleView, Role, has_role, safe_next
from apps.console.bulk import selection
from apps.console.bulk.forms import (
    ACTION_LABELS,
    BulkActionForm,
    BulkSelectionForm,
    form_errors,
)
from apps.console.bulk.selection import BulkList
from apps.console.bulk.undo_plan import before_bulk
from apps.console.undo import offer_undo_many, undo_seconds
from apps.core.errors import DomainError
from apps.moderation import bulk
from apps.moderation.models import BulkJob

#: The console role each bulk action needs: the role of the single action it repeats
#: (every moderation action of the console is a moderator's today).
ACTION_ROLES: dict[str, str] = {
    bulk.DISMISS: Role.MODERATOR,
    bulk.DELETE: Role.MODERATOR,
    bulk.HIDE: Role.MODERATOR,
    bulk.UNHIDE: Role.MODERATOR,
    bulk.MUTE: Role.MODERATOR,
    bulk.CHANNEL_BAN: Role.MODERATOR,
    bulk.GLOBAL_BAN: Role.MODERATOR,
}
#: The label of a job's action (a job may also undo another).
JOB_LABELS = {**ACTION_LABELS, bulk.UNDO: "Undo"}
#: Failures listed in a flash message after an action done in the request.
FAILURES_SHOWN = 3
#: Jobs listed on the bulk jobs page (and in its status JSON).
RECENT_JOBS = 20


def headline(blist: BulkList, action: str, n: int, channel: Channel | None = None) -> str:
    """The confirmation's question without its "?": ``Delete 3,214 messages``."""
    what = f"{n:,} {blist.noun[0] if n == 1 else blist.noun[1]}"
    on_rows = blist.name in ("queue", "messages")
    where = f" in {channel.channel_id}" if channel is not None else ""
    if action == bulk.DISMISS:
        return f"Dismiss the reports on {what}"
    if action in (bulk.DELETE, bulk.HIDE, bulk.UNHIDE):
        verb = ACTION_LABELS[action]
        return f"{verb} the messages of {what}" if blist.name == "queue" else f"{verb} {what}"
    whom = f"the authors of {what}" if on_rows else what
    if action == bulk.MUTE:
        return f"Mute {whom}" + (" in their channels" if on_rows else where)
    if action == bulk.CHANNEL_BAN:
        return f"Ban {whom} from " + ("their channels" if on_rows else where[4:] or "a channel")
    return f"Ban {whom} everywhere"


def list_url(request: HttpRequest, slug: str, blist: BulkList, channel: Channel | None) -> str:
    name = {"queue": "review", "messages": "messages", "users": "users"}.get(blist.name)
    if name is None:
        assert channel is not None
        return reverse("console:channel", args=[slug, channel.channel_id])
    return reverse(f"console:{name}", args=[slug])


class BulkActionView(ConsoleView):
    """POST: without ``confirmed``, the confirmation page; with it, the action."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        org = self.organization
        pick = BulkSelectionForm(request.POST)
        blist = selection.bulk_list(request.POST.get("bulk_list", ""))
        self.section = "review" if blist.name == "queue" else blist.name
        if blist.name == "members":
            self.section = "channels"
        channel = selection.list_channel(org, blist, request.POST.get("bulk_channel", ""))
        back = list_url(request, org.slug, blist, channel)
        if not pick.is_valid():
            flash.error(request, f"Nothing was changed. {form_errors(pick)}")
            return redirect(safe_next(request, org.slug, request.POST.get("next"), back))
        data = pick.cleaned_data
        back = safe_next(request, org.slug, data.get("next"), back)
        action = request.POST.get("action", "")
        if action not in blist.actions:
            flash.error(request, "Nothing was changed: choose an action this list offers.")
            return redirect(back)
        if not has_role(self.role, ACTION_ROLES[action]):
            raise PermissionDenied(f"This action needs the {ACTION_ROLES[action]} role.")
        try:
            if data.get("all"):
                queryset = selection.matching(org, blist, data.get("query") or "", channel)
                until = data.get("until")
                if until is None:
                    until = selection.upper_bound(blist, queryset)
                queryset = selection.bounded(blist, queryset, until)
            else:
                queryset = selection.by_ids(org, blist, data.get("ids") or [], channel)
                until = None
        except DomainError as exc:
            flash.error(request, f"Nothing was changed. {exc.message}")
            return redirect(back)
        limit = bulk.bulk_setting("BULK_MAX_TARGETS")
        total = selection.count(queryset, limit)
        form = BulkActionForm(request.POST)
        context: dict[str, Any] = {
            "blist": blist,
            "channel": channel,
            "pick": data,
            "ids": data.get("ids") or [],
            "until": until,
            "total": total,
            "limit": limit,
            "too_many": total > limit,
            "action": action,
            "action_label": ACTION_LABELS[action],
            "headline": headline(blist, action, total, channel),
            "form": form,
            "back": back,
            "needs_duration": action in (bulk.MUTE, bulk.CHANNEL_BAN, bulk.GLOBAL_BAN),
            "needs_channel": blist.needs_channel and action in (bulk.MUTE, bulk.CHANNEL_BAN),
            "sync_limit": bulk.bulk_setting("BULK_SYNC_LIMIT"),
        }
        confirmed = request.POST.get("confirmed") == "1"
        if total > limit or total == 0 or not confirmed:
            if confirmed and total > limit:
                flash.error(request, f"Nothing was changed: at most {limit:,} at a time.")
            status = 400 if confirmed else 200
            return self.render("console/bulk/confirm.html", status=status, **context)
        if not form.ready():
            problems = form_errors(form) if form.errors else "Reason: enter the reason."
            context["problems"] = problems
            return self.render("console/bulk/confirm.html", status=400, **context)
        try:
            return self._run(blist, channel, queryset, form, back)
        except DomainError as exc:
            context["problems"] = exc.message
            return self.render("console/bulk/confirm.html", status=400, **context)

    def _run(
        self,
        blist: BulkList,
        channel: Channel | None,
        queryset: Any,
        form: BulkActionForm,
        back: str,
    ) -> HttpResponse:
        data = form.cleaned_data
        action = data["action"]
        channel_pk = channel.pk if channel is not None else None
        if blist.needs_channel and action in (bulk.MUTE, bulk.CHANNEL_BAN):
            channel_id = (data.get("target_channel") or "").strip()
            if not channel_id:
                raise DomainError("missing_parameter", "Channel: enter the channelId.")
            channel_pk = channel_get(
                organization=self.organization, channel_id=channel_id, field="channel"
            ).pk
        period = data.get("period_ms")
        spec = bulk.BulkSpec(
            action=action,
            reason=data["reason"].strip(),
            mute_period=period if action == bulk.MUTE else None,
            ban_period=period if action in (bulk.CHANNEL_BAN, bulk.GLOBAL_BAN) else None,
            channel_pk=channel_pk,
        )
        unit, targets = bulk.bulk_units(
            source=blist.source, action=action, rows=selection.rows(blist, queryset)
        )
        if len(targets) > bulk.bulk_setting("BULK_SYNC_LIMIT"):
            job = bulk.bulk_job_create(
                organization=self.organization,
                account=self.request.user,  # type: ignore[arg-type]
                spec=spec,
                unit=unit,
                targets=targets,
            )
            url = reverse("console:bulk_job", args=[self.organization.slug])
            return redirect(f"{url}?job={job.pk}")
        undo = before_bulk(organization=self.organization, spec=spec, unit=unit, targets=targets)
        outcome = bulk.bulk_apply(
            organization=self.organization, actor=self.actor, spec=spec, unit=unit, targets=targets
        )
        text = f"{ACTION_LABELS[action]}: {outcome.done:,} done"
        if form.duration_text():
            text += f" ({form.duration_text()})"
        if outcome.failed:
            shown = "; ".join(
                f"{f['target']}: {f['error']}" for f in outcome.failures[:FAILURES_SHOWN]
            )
            flash.warning(self.request, f"{text}, {outcome.failed:,} failed ({shown}).")
        else:
            flash.success(self.request, f"{text}.")
        if outcome.done:
            offer_undo_many(self.request, *undo)
        return redirect(back)


class BulkCountView(ConsoleView):
    """GET (JSON): how many rows match the list's filters (the query string of the list
    page, plus ``bulk_list`` and for a channel's members ``bulk_channel``), counted up
    to ``BULK_MAX_TARGETS + 1``."""

    def get(self, request: HttpRequest) -> HttpResponse:
        params = request.GET.copy()
        name = params.pop("bulk_list", [""])[-1]
        channel_id = params.pop("bulk_channel", [""])[-1]
        if not name:  # what it counts
            return JsonResponse({"lists": list(selection.LISTS)})
        if name not in selection.LISTS:
            return JsonResponse({"code": "invalid_parameter", "message": "bulk_list?"}, status=400)
        blist = selection.LISTS[name]
        channel = selection.list_channel(self.organization, blist, channel_id)
        for key in ("cursor", "sort"):
            params.pop(key, None)
        limit = bulk.bulk_setting("BULK_MAX_TARGETS")
        found = selection.count(
            selection.matching(self.organization, blist, params.urlencode(), channel), limit
        )
        more = found > limit
        label = (
            f"Select all matching (more than {limit:,}: too many for one action)"
            if more
            else f"Select all {found:,} matching"
        )
        return JsonResponse({"count": min(found, limit), "more": more, "label": label})


def _job(view: ConsoleView, request: HttpRequest) -> BulkJob:
    job_id = request.POST.get("job") if request.method == "POST" else request.GET.get("job")
    try:
        return bulk.bulk_job_get(organization=view.organization, job_id=job_id)
    except DomainError as exc:
        raise Http404(exc.message) from exc


def job_status(job: BulkJob, account_pk: int | None = None) -> dict[str, Any]:
    """The job's progress as JSON; ``undoable``: ``account_pk`` may undo it now."""
    return {
        "job": job.pk,
        "state": job.state,
        "finished": job.state == BulkJob.State.FINISHED,
        "total": job.total,
        "position": job.position,
        "done": job.done,
        "failed": job.failed,
        "failures": (job.failures or [])[:20],
        "undoable": account_pk is not None and bulk.bulk_job_undoable(job, account_pk),
    }


class BulkJobView(ConsoleView):
    """GET ``?job=<id>``: a bulk job's progress (done/total, failures, a progress bar that
    bulk.js refreshes from :class:`BulkJobStatusView`); without ``job``, the
    organization's latest jobs."""

    def get(self, request: HttpRequest) -> HttpResponse:
        status_url = reverse("console:bulk_job_status", args=[self.organization.slug])
        if "job" not in request.GET:
            url = reverse("console:bulk_job", args=[self.organization.slug])
            jobs = bulk.bulk_jobs_recent(organization=self.organization, limit=RECENT_JOBS)
            return self.render(
                "console/bulk/jobs.html",
                jobs=[(job, JOB_LABELS.get(job.action, job.action)) for job in jobs],
                job_url=url,
            )
        job = _job(self, request)
        undo = job.undo or {}
        return self.render(
            "console/bulk/job.html",
            job=job,
            progress=job_status(job, request.user.pk),
            action_label=JOB_LABELS.get(job.action, job.action),
            status_url=f"{status_url}?job={job.pk}",
            # The actor's job offers "Undo" once finished (bulk.js shows it then).
            may_undo=job.unit != bulk.UNDO
            and not undo.get("by")
            and job.actor_account_id == request.user.pk,
            undone_by=undo.get("by"),
            undoes=(job.params or {}).get("undoes") if job.unit == bulk.UNDO else None,
            undo_seconds=undo_seconds(),
        )


class BulkJobStatusView(ConsoleView):
    """GET ``?job=<id>`` (JSON): the job's progress, for the progress page's poll."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if "job" not in request.GET:
            jobs = bulk.bulk_jobs_recent(organization=self.organization, limit=RECENT_JOBS)
            return JsonResponse({"jobs": [job_status(job) for job in jobs]})
        return JsonResponse(job_status(_job(self, request), request.user.pk))


class BulkJobUndoView(ConsoleView):
    """POST ``job``: undo the finished job (its actor only, for CONSOLE_UNDO_SECONDS
    after it finished, once) as a job of its own; to that job's progress page."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        if not has_role(self.role, Role.MODERATOR):
            raise PermissionDenied("Undo needs the moderator role.")
        url = reverse("console:bulk_job", args=[self.organization.slug])
        job = _job(self, request)  # 404 for another organization's
        try:
            undo = bulk.bulk_job_undo(
                organization=self.organization,
                job_id=job.pk,
                account=request.user,  # type: ignore[arg-type]
            )
        except DomainError as exc:
            flash.error(request, f"Nothing was changed. {exc.message}")
            return redirect(f"{url}?job={job.pk}")
        flash.success(request, f"Undoing bulk action {job.pk}: {undo.total:,} to put back.")
        return redirect(f"{url}?job={undo.pk}")


urlpatterns = [
    path("bulk/", BulkActionView.as_view(), name="bulk"),
    path("bulk/count/", BulkCountView.as_view(), name="bulk_count"),
    path("bulk/jobs/", BulkJobView.as_view(), name="bulk_job"),
    path("bulk/jobs/status/", BulkJobStatusView.as_view(), name="bulk_job_status"),
    path("bulk/jobs/undo/", BulkJobUndoView.as_view(), name="bulk_job_undo"),
]
