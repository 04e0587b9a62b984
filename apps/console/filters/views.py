"""Console pages: the blacklist and the whitelist (list, add in bulk, edit, delete) and
the "try a message" box.

Every write goes through apps/moderation/services.py (validation, the per-organization
lock, the filter version bump and the audit entry); records are looked up through the
organization-scoped selectors, so another organization's record id is a 404.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse

from apps.console.access import ConsoleView
from apps.console.filters.draft import draft_pattern_test
from apps.console.filters.explain import explain_message
from apps.console.filters.forms import (
    BLACKLIST,
    KINDS,
    WHITELIST,
    BulkAddForm,
    DraftPatternForm,
    EditRecordForm,
    TryMessageForm,
)
from apps.console.paging import console_page
from apps.core.errors import DomainError
from apps.moderation import services
from apps.moderation.selectors import blacklist_record_query, whitelist_record_query

#: Longest search text, in characters.
MAX_SEARCH_LENGTH = 100
SORTS = {
    "newest": "-created_at",
    "oldest": "created_at",
    "pattern": "pattern",
    "updated": "-updated_at",
}


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise Http404("No such list.")
    return kind


class FilterView(ConsoleView):
    section = "filters"

    def records(self, kind: str, filters: dict[str, Any] | None = None) -> QuerySet[Model]:
        """The organization's records of this kind (scoped by the selector)."""
        query = blacklist_record_query if kind == BLACKLIST else whitelist_record_query
        return query(organization=self.organization, filters=filters or {})

    def record_or_404(self, kind: str, pk: int) -> Any:
        record = self.records(kind).filter(pk=pk).first()
        if record is None:
            raise Http404("No such record.")
        return record

    def list_url(self, kind: str) -> str:
        name = "console:filters" if kind == BLACKLIST else "console:filters_whitelist"
        return reverse(name, args=[self.organization.slug])

    def render_list(
        self,
        kind: str,
        *,
        add_form: BulkAddForm | None = None,
        try_form: TryMessageForm | None = None,
        explanation: Any = None,
        draft_form: DraftPatternForm | None = None,
        draft: Any = None,
        status: int = 200,
    ) -> HttpResponse:
        search = self.request.GET.get("q", "").strip()[:MAX_SEARCH_LENGTH]
        queryset = self.records(kind, {"regexs": [search]} if search else {})
        page = console_page(
            self.request,
            queryset,
            scope=f"filters:{kind}:{self.organization.pk}:{search}",
            sorts=SORTS,
            default_sort="newest",
        )
        return self.render(
            "console/filters/list.html",
            status=status,
            kind=kind,
            page=page,
            search=search,
            sorts=SORTS,
            add_form=add_form or BulkAddForm(kind=kind),
            try_form=try_form or TryMessageForm(),
            explanation=explanation,
            draft_form=draft_form or DraftPatternForm(),
            draft=draft,
            draft_sample=settings.CHATADMIN["FILTER_DRAFT_MESSAGES"],
            max_search_length=MAX_SEARCH_LENGTH,
        )


class FilterListView(FilterView):
    kind = BLACKLIST

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_list(self.kind)


class FilterAddView(FilterView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, kind: str) -> HttpResponse:
        kind = _check_kind(kind)
        form = BulkAddForm(request.POST, kind=kind)
        if not form.is_valid():
            messages.error(request, "Nothing was added: see the errors under the form.")
            return self.render_list(kind, add_form=form, status=400)
        patterns = form.cleaned_data["patterns"]
        try:
            if kind == BLACKLIST:
                result = services.blacklist_records_add(
                    organization=self.organization,
                    actor=self.actor,
                    patterns=patterns,
                    is_match_exact_word=form.cleaned_data["is_match_exact_word"],
                )
            else:
                result = services.whitelist_records_add(
                    organization=self.organization, actor=self.actor, patterns=patterns
                )
        except DomainError as exc:
            form.add_error("patterns", f"Nothing was added: {exc.message}")
            messages.error(request, f"Nothing was added: {exc.message}")
            return self.render_list(kind, add_form=form, status=400)
        existing = len(result.records) - result.created
        text = f"Added {result.created} {kind} record{'s' if result.created != 1 else ''}."
        if existing:
            text += f" {existing} already existed and {'was' if existing == 1 else 'were'} kept."
        messages.success(request, text)
        return redirect(self.list_url(kind))


class FilterEditView(FilterView):
    def get(self, request: HttpRequest, kind: str, pk: int) -> HttpResponse:
        kind = _check_kind(kind)
        record = self.record_or_404(kind, pk)
        initial = {"pattern": record.pattern}
        if kind == BLACKLIST:
            initial["is_match_exact_word"] = record.is_match_exact_word
        return self.render_edit(kind, record, EditRecordForm(initial=initial, kind=kind))

    def post(self, request: HttpRequest, kind: str, pk: int) -> HttpResponse:
        kind = _check_kind(kind)
        record = self.record_or_404(kind, pk)
        form = EditRecordForm(request.POST, kind=kind)
        if not form.is_valid():
            return self.render_edit(kind, record, form, status=400)
        try:
            if kind == BLACKLIST:
                updated = services.blacklist_records_update(
                    organization=self.organization,
                    actor=self.actor,
                    record=record,
                    new_pattern=form.cleaned_data["pattern"],
                    is_match_exact_word=form.cleaned_data["is_match_exact_word"],
                )
            else:
                updated = services.whitelist_records_update(
                    organization=self.organization,
                    actor=self.actor,
                    record=record,
                    new_pattern=form.cleaned_data["pattern"],
                )
        except DomainError as exc:
            message = exc.message
            form.add_error("pattern", message)
            messages.error(request, f"The record was not changed: {message}")
            return self.render_edit(kind, record, form, status=400)
        messages.success(request, f"Saved {kind} record “{updated.pattern}”.")
        return redirect(self.list_url(kind))

    def render_edit(
        self, kind: str, record: Any, form: EditRecordForm, status: int = 200
    ) -> HttpResponse:
        return self.render(
            "console/filters/edit.html",
            status=status,
            kind=kind,
            record=record,
            form=form,
            list_url=self.list_url(kind),
        )


class FilterDeleteView(FilterView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, kind: str, pk: int) -> HttpResponse:
        kind = _check_kind(kind)
        record = self.record_or_404(kind, pk)
        delete = (
            services.blacklist_records_delete
            if kind == BLACKLIST
            else services.whitelist_records_delete
        )
        try:
            delete(organization=self.organization, actor=self.actor, rule_ids=[record.pattern])
        except DomainError as exc:
            messages.error(request, f"The record was not deleted: {exc.message}")
        else:
            messages.success(request, f"Deleted {kind} record “{record.pattern}”.")
        return redirect(self.list_url(kind))


class FilterTryView(FilterView):
    """The filter tester; changes nothing (GET or POST, so long texts need not travel in
    the URL): what the filter would do with a text (``text``), or what a draft blacklist
    pattern (``pattern``) would have matched among the last messages."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if "pattern" in request.GET:
            return self.answer_draft(DraftPatternForm(request.GET))
        if "text" not in request.GET:
            return redirect(self.list_url(BLACKLIST))
        return self.answer(TryMessageForm(request.GET))

    def post(self, request: HttpRequest) -> HttpResponse:
        if "pattern" in request.POST:
            return self.answer_draft(DraftPatternForm(request.POST))
        return self.answer(TryMessageForm(request.POST))

    def answer_draft(self, form: DraftPatternForm) -> HttpResponse:
        if not form.is_valid():
            return self.render_list(BLACKLIST, draft_form=form, status=400)
        try:
            draft = draft_pattern_test(
                organization=self.organization,
                pattern=form.cleaned_data["pattern"],
                exact_word=form.cleaned_data["is_match_exact_word"],
            )
        except DomainError as exc:
            form.add_error("pattern", exc.message)
            return self.render_list(BLACKLIST, draft_form=form, status=400)
        return self.render_list(BLACKLIST, draft_form=form, draft=draft)

    def answer(self, form: TryMessageForm) -> HttpResponse:
        kind = WHITELIST if self.request.GET.get("list") == WHITELIST else BLACKLIST
        if not form.is_valid():
            return self.render_list(kind, try_form=form, status=400)
        explanation = explain_message(
            organization=self.organization, text=form.cleaned_data["text"]
        )
        return self.render_list(kind, try_form=form, explanation=explanation)


urlpatterns: list[URLPattern] = [
    path("filters/", FilterListView.as_view(kind=BLACKLIST), name="filters"),
    path("filters/whitelist/", FilterListView.as_view(kind=WHITELIST), name="filters_whitelist"),
    path("filters/try/", FilterTryView.as_view(), name="filters_try"),
    path("filters/<str:kind>/add/", FilterAddView.as_view(), name="filters_add"),
    path("filters/<str:kind>/<int:pk>/edit/", FilterEditView.as_view(), name="filters_edit"),
    path("filters/<str:kind>/<int:pk>/delete/", FilterDeleteView.as_view(), name="filters_delete"),
]
