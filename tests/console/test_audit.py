"""The audit log page (read-only, filtered, paged) and its streamed CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.audit.selectors import EXPORT_COLUMNS
from apps.audit.services import audit_record
from apps.organizations.models import Organization

pytestmark = pytest.mark.django_db


def url(name: str, org: Organization) -> str:
    return reverse(f"console:{name}", args=[org.slug])


def record(org: Organization, action: str = "channel.close", **kw) -> AuditEntry:
    defaults = {"target_type": "channel", "target_id": "general", "reason": ""}
    defaults.update(kw)
    actor = defaults.pop("actor", Actor.system())
    return audit_record(organization=org, actor=actor, action=action, **defaults)


def backdate(entry: AuditEntry, when) -> None:
    # The log is append-only for the application; tests move time with a raw UPDATE.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditentry SET created_at = %s WHERE id = %s", [when, entry.pk]
        )


def export(client: Client, org: Organization, **params) -> tuple[object, list[list[str]]]:
    response = client.get(url("audit_export", org), params)
    body = b"".join(response.streaming_content).decode() if response.status_code == 200 else ""
    return response, list(csv.reader(io.StringIO(body)))


# --- The page -----------------------------------------------------------------------------


def test_it_shows_every_entry_to_a_moderator_newest_first(
    moderator_client: Client, org, moderator
) -> None:
    record(org, "channel.mute", reason="spam wave", actor=Actor(account=moderator))
    record(org, "user.ban", target_type="user", target_id="u-42", before={"banned": False})
    response = moderator_client.get(url("audit", org))
    assert response.status_code == 200
    actions = [row.entry.action for row in response.context["rows"]]
    assert actions == ["user.ban", "channel.mute"]
    body = response.content.decode()
    assert "mod@acme.test" in body and "spam wave" in body and "u-42" in body
    assert "<details>" in body and "&quot;banned&quot;: false" in body


def test_it_shows_nothing_of_another_organization(moderator_client: Client, org, other_org) -> None:
    record(other_org, "channel.close", target_id="globex-secret")
    body = moderator_client.get(url("audit", org)).content.decode()
    assert "globex-secret" not in body


def test_it_is_read_only_it_has_no_form_that_changes_it(admin_client_: Client, org) -> None:
    record(org)
    body = admin_client_.get(url("audit", org)).content.decode()
    main = body.split('<main id="main"', 1)[1]
    assert 'method="post"' not in main
    assert admin_client_.post(url("audit", org)).status_code == 405
    assert admin_client_.post(url("audit_export", org)).status_code == 405


def test_it_filters_by_actor_label(moderator_client: Client, org, moderator) -> None:
    record(org, "channel.mute", actor=Actor(account=moderator))
    record(org, "channel.close")
    rows = moderator_client.get(url("audit", org), {"actor": "MOD@acme"}).context["rows"]
    assert [r.entry.action for r in rows] == ["channel.mute"]


def test_it_filters_by_action_and_offers_the_actions_present(
    moderator_client: Client, org, other_org
) -> None:
    record(org, "channel.mute")
    record(org, "channel.close")
    record(other_org, "globex.only")
    response = moderator_client.get(url("audit", org), {"action": "channel.close"})
    assert [r.entry.action for r in response.context["rows"]] == ["channel.close"]
    assert response.context["actions"] == ["channel.close", "channel.mute"]


def test_it_filters_by_target(moderator_client: Client, org) -> None:
    record(org, "channel.mute", target_type="channel", target_id="a")
    record(org, "user.ban", target_type="user", target_id="a")
    record(org, "channel.close", target_type="channel", target_id="b")
    rows = moderator_client.get(
        url("audit", org), {"target_type": "channel", "target_id": "a"}
    ).context["rows"]
    assert [r.entry.action for r in rows] == ["channel.mute"]


def test_it_filters_by_time_range(moderator_client: Client, org) -> None:
    now = timezone.now()
    old, mid, _ = record(org, "a.old"), record(org, "b.mid"), record(org, "c.new")
    backdate(old, now - timedelta(days=10))
    backdate(mid, now - timedelta(days=5))
    since = (now - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    until = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    rows = moderator_client.get(url("audit", org), {"since": since, "until": until}).context["rows"]
    assert [r.entry.action for r in rows] == ["b.mid"]


def test_a_bad_time_is_an_error_message_not_a_crash(moderator_client: Client, org) -> None:
    record(org)
    response = moderator_client.get(url("audit", org), {"since": "yesterday-ish"})
    assert response.status_code == 400
    assert "Some filters are not valid" in response.content.decode()
    assert response.context["rows"] == []


def test_it_pages_with_keyset_cursors_and_keeps_the_filters(moderator_client: Client, org) -> None:
    for i in range(55):
        record(org, "channel.mute", target_id=f"c{i:02}")
    record(org, "user.ban")
    first = moderator_client.get(url("audit", org), {"action": "channel.mute"})
    page = first.context["page"]
    assert len(page.items) == 50 and page.items[0].target_id == "c54"
    second = moderator_client.get(
        url("audit", org), {"action": "channel.mute", "cursor": page.next_cursor}
    )
    assert [e.target_id for e in second.context["page"].items] == [
        f"c{i:02}" for i in range(4, -1, -1)
    ]
    # a cursor of the filtered list does not work for another filter: back to page one
    other = moderator_client.get(url("audit", org), {"cursor": page.next_cursor})
    assert other.context["page"].items[0].action == "user.ban"


def test_the_page_costs_the_same_queries_for_1_and_30_entries(
    moderator_client: Client, org
) -> None:
    record(org)
    with CaptureQueriesContext(connection) as one:
        moderator_client.get(url("audit", org))
    for i in range(29):
        record(org, f"action.{i}", before={"i": i}, after={"i": i + 1})
    with CaptureQueriesContext(connection) as thirty:
        moderator_client.get(url("audit", org))
    # 6: session, account, the organizations (the switcher's list, which holds this
    # one), role, the page of entries (the actor is a text column: no join), the
    # actions of the select.
    assert len(one) == len(thirty) == 6


def test_the_outsider_gets_404(outsider_client: Client, org) -> None:
    record(org)
    assert outsider_client.get(url("audit", org)).status_code == 404
    assert outsider_client.get(url("audit_export", org)).status_code == 404


def test_anonymous_visitors_are_sent_to_the_login_page(client: Client, org) -> None:
    assert client.get(url("audit", org)).status_code == 302
    assert client.get(url("audit_export", org)).status_code == 302


# --- CSV export ---------------------------------------------------------------------------


def test_the_export_streams_csv_with_headers_in_id_order(
    moderator_client: Client, org, other_org, moderator
) -> None:
    first = record(
        org,
        "channel.mute",
        reason='spam, "quoted"\nnewline',
        before={"muted": False},
        after={"muted": True},
        actor=Actor(account=moderator),
    )
    second = record(org, "user.ban", target_type="user", target_id="u-1")
    record(other_org, "globex.only")
    response, rows = export(moderator_client, org)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-acme-')
    assert rows[0] == list(EXPORT_COLUMNS)
    assert [r[0] for r in rows[1:]] == [str(first.pk), str(second.pk)]
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["actor_label"] == "mod@acme.test"
    assert row["reason"] == 'spam, "quoted"\nnewline'
    assert row["before"] == '{"muted": false}' and row["after"] == '{"muted": true}'
    assert row["created_at"].endswith("Z")
    assert rows[2][7] == "" and rows[2][8] == ""  # no before/after: empty cells


def test_the_export_holds_the_filtered_entries_only(moderator_client: Client, org) -> None:
    record(org, "channel.mute")
    record(org, "user.ban", target_type="user", target_id="u-1")
    _, rows = export(moderator_client, org, action="user.ban")
    assert [r[3] for r in rows[1:]] == ["user.ban"]
    _, rows = export(moderator_client, org, target_type="user", target_id="nobody")
    assert rows == [list(EXPORT_COLUMNS)]


def test_the_page_links_to_the_export_with_its_filters(moderator_client: Client, org) -> None:
    body = moderator_client.get(url("audit", org), {"action": "user.ban"}).content.decode()
    assert url("audit_export", org) + "?action=user.ban" in body


def test_the_export_defuses_spreadsheet_formulas(moderator_client: Client, org) -> None:
    record(org, "user.ban", reason='=HYPERLINK("http://evil")', target_id="@home")
    _, rows = export(moderator_client, org)
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["reason"].startswith("'=") and row["target_id"] == "'@home"


def test_the_export_refuses_a_bad_filter(moderator_client: Client, org) -> None:
    response = moderator_client.get(url("audit_export", org), {"until": "not a time"})
    assert response.status_code == 400


def test_the_export_reads_the_database_in_chunks(
    moderator_client: Client, org, monkeypatch
) -> None:
    """A million entries would be read chunk by chunk (a server-side cursor on
    PostgreSQL), never into one list: the export iterates with a chunk size."""
    from apps.audit import selectors

    monkeypatch.setattr(selectors, "EXPORT_CHUNK_SIZE", 2)
    for i in range(5):
        record(org, f"a.{i}")
    _, rows = export(moderator_client, org)
    assert len(rows) == 6
