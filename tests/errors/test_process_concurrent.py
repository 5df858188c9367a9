"""Several workers processing the spool at once (PostgreSQL): every event counted once, on the right group."""

import threading

import pytest
from django.db import connection, connections
from errors_sdk import capture, checkout, report

from keepwell.errors import processing
from keepwell.errors.models import Dsn, ErrorEvent, ErrorGroup, GroupTag, RawEnvelope

pytestmark = pytest.mark.django_db(transaction=True)


def boom(n):
    raise ValueError(f"bad value {n}")


def test_concurrent_workers_take_disjoint_batches_and_count_exactly(service):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL here (the SQLite test database is in memory)")
    dsn = Dsn.issue(service)
    runs = []
    for i in range(60):
        runs.append(report(checkout, i + 1, user={"id": f"u{i % 7}"}, tags={"shard": str(i % 4)}))
        runs.append(report(boom, i))
    bodies = capture(lambda: [r() for r in runs], release="1.0.0")
    RawEnvelope.objects.bulk_create([RawEnvelope(dsn=dsn, service=service, body=b) for b in bodies])
    errors = []

    def worker():
        try:
            while processing.process_spool(limit=7) is not None:
                pass
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert not RawEnvelope.objects.exists()
    assert ErrorEvent.objects.count() == 120
    counts = dict(ErrorGroup.objects.values_list("type", "count"))
    assert counts == {"KeyError": 60, "ValueError": 60}
    key_error = ErrorGroup.objects.get(type="KeyError")
    assert key_error.users == 7
    shards = dict(GroupTag.objects.filter(group=key_error, key="shard").values_list("value", "count"))
    assert shards == {"0": 15, "1": 15, "2": 15, "3": 15}
