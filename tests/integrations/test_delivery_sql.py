"""The delivery engine's statements (apps.integrations.services.delivery_sql) keep their
plans when PostgreSQL's statistics are stale: read while few rows were pending, then a
burst of thousands (the statistics are read again only by the next ANALYZE)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.integrations.models import Delivery
from apps.integrations.services import delivery_sql
from apps.integrations.services.delivery import NewDelivery, deliveries_create
from tests.integrations.receivers import allow_local, outgoing_hook

# outside a transaction, as the engine sends them (with their SET LOCAL)
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner"),
]

BURST = 3000


@pytest.fixture
def burst_after_analyze(settings) -> list[int]:
    """BURST due deliveries, the table's statistics read while none was pending."""
    allow_local(settings)
    integration = outgoing_hook("http://127.0.0.1:9/hook")
    deliveries_create(NewDelivery(integration, "test", {"n": n}) for n in range(BURST))
    rows = Delivery.objects.filter(integration=integration)
    rows.update(status=Delivery.Status.SUCCEEDED, next_attempt_at=None)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Delivery._meta.db_table}")
    rows.update(status=Delivery.Status.PENDING, next_attempt_at=timezone.now())
    return sorted(rows.values_list("pk", flat=True))


def _plan(run) -> str:  # type: ignore[no-untyped-def]
    """The plan of the one statement ``run`` sends, after its SET LOCAL if it has one."""
    with CaptureQueriesContext(connection) as captured:
        run()
    [sent] = [q["sql"] for q in captured.captured_queries]
    *local, statement = sent.split("; ", 1) if sent.startswith("SET LOCAL") else [sent]
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in local:
            cursor.execute(setting)
        cursor.execute(f"EXPLAIN {statement}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


def test_the_due_read_walks_the_due_index_in_order_and_stops_at_its_limit(
    burst_after_analyze,
):
    plan = _plan(lambda: delivery_sql.due(32, timezone.now(), []))
    assert "Index Scan using delivery_due_order" in plan, plan
    assert "Sort" not in plan and "Bitmap" not in plan, plan


def test_a_claim_and_a_record_find_their_rows_by_primary_key_only(burst_after_analyze):
    pks = burst_after_analyze[:12]
    claim = _plan(lambda: delivery_sql.claim(pks, timezone.now()))
    record = _plan(
        lambda: delivery_sql.write_held([(pk, 1) for pk in pks], {"response_status": 200})
    )
    for plan in (claim, record):
        assert "delivery_due" not in plan, plan  # (nor its predecessor, without id)
        assert "integrations_delivery_pkey" in plan, plan
