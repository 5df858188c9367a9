"""The ping fast path: raw SQL in group commits, with the same state rules as the view; hands hard cases to Django."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from keepwell.core.findings import raise_finding
from keepwell.monitoring import heartbeats, ping_fastpath, ping_writer
from keepwell.monitoring.models import Heartbeat


@pytest.fixture
def make(service):
    def make(name="job", **fields):
        return Heartbeat.objects.create(
            organization=service.organization, service=service, name=name, period=3600, grace=600, **fields
        )

    return make


def request(hb, kind="success", exit_status=None, rid=None, method="GET"):
    return {
        "uuid": hb.uuid,
        "kind": kind,
        "exit_status": exit_status,
        "rid": rid,
        "method": method,
        "remote_addr": "127.0.0.1",
        "user_agent": "curl/8",
        "limit_header": None,
    }


def state(hb):
    hb.refresh_from_db()
    pings = list(hb.pings.order_by("n").values_list("n", "kind", "exit_status", "duration"))
    return hb.status, hb.n_pings, hb.last_ping, hb.last_start, hb.last_duration, hb.alert_after, pings


def test_it_leaves_a_heartbeat_exactly_as_the_view_s_path_does(make):
    fast, slow = make("fast"), make("slow")
    now = timezone.now()
    steps = [
        ("start", None, 0),
        ("success", None, 90),
        ("log", None, 100),
        ("start", None, 200),
        ("success", 0, 260),
    ]
    for kind, code, seconds in steps:
        at = now + timedelta(seconds=seconds)
        ping_writer.record(request(fast, kind, code), b"body", False, now=at)
        heartbeats.record_ping(slow.pk, kind=kind, exit_status=code, method="GET", body=b"body", now=at)
    assert state(fast) == state(slow)
    assert state(fast)[0] == "up" and state(fast)[4] == timedelta(seconds=60)


def test_a_batch_numbers_each_heartbeat_s_pings_in_arrival_order(make):
    a, b = make("a"), make("b")
    items = [(request(hb), b"", False) for hb in (a, b, a, a, b)]
    results = ping_writer.record_batch(items)
    assert not any(isinstance(r, ping_writer.Fallback) for r in results)
    assert list(a.pings.order_by("n").values_list("n", flat=True)) == [1, 2, 3]
    assert Heartbeat.objects.get(pk=b.pk).n_pings == 2


def test_a_ping_that_opens_a_finding_falls_back_with_the_later_pings_of_its_heartbeat(make):
    failing, healthy = make("failing"), make("healthy")
    items = [
        (request(failing, "fail"), b"", False),
        (request(healthy), b"", False),
        (request(failing), b"", False),
    ]
    results = ping_writer.record_batch(items)
    assert isinstance(results[0], ping_writer.Fallback) and isinstance(results[2], ping_writer.Fallback)
    assert not isinstance(results[1], ping_writer.Fallback)
    assert not failing.pings.exists() and Heartbeat.objects.get(pk=failing.pk).status == "new"
    assert healthy.pings.count() == 1


def test_an_unknown_uuid_falls_back_to_django_s_404(db):
    hb = Heartbeat(uuid=uuid.uuid4())
    with pytest.raises(ping_writer.Fallback):
        ping_writer.record(request(hb), b"", False)


def test_a_start_and_its_finish_in_one_batch_are_paired_by_rid(make):
    hb, rid = make(), uuid.uuid4()
    ping_writer.record_batch(
        [(request(hb, "start", rid=rid), b"", False), (request(hb, rid=rid), b"", False)]
    )
    finish = hb.pings.get(kind="success")
    assert finish.rid == rid and finish.duration is not None and finish.duration < timedelta(seconds=5)


def test_a_success_resolving_an_open_finding_falls_back_and_one_without_stays_fast(make, service):
    hb = make()
    ping_writer.record(request(hb, "start"), b"", False)
    assert ping_writer.record(request(hb), b"", False) is not None  # no finding: fast
    ping_writer.record(request(hb, "start"), b"", False)
    raise_finding(service, source="monitoring", key=f"heartbeat:{hb.uuid}", title="down")
    with pytest.raises(ping_writer.Fallback):
        ping_writer.record(request(hb), b"", False)


@pytest.mark.parametrize(
    "path,method,query",
    [
        ("/ping/{u}/256", "GET", b""),
        ("/ping/{u}", "PUT", b""),
        ("/ping/{u}", "GET", b"rid=not-a-uuid"),
        ("/ping/{u}/restart", "GET", b""),
        ("/ping/{U}", "GET", b""),
        ("/ping/key1234567890123456/slug", "GET", b""),
        ("/ping/{u}/" + "1" * 5000, "GET", b""),
        ("/ping/{u}/../admin", "GET", b""),
    ],
)
def test_anything_unusual_goes_to_django(path, method, query):
    u = str(uuid.uuid4())
    scope = {"type": "http", "method": method, "path": path.format(u=u, U=u.upper()), "query_string": query}
    assert ping_fastpath._parse(scope) is None


def test_it_reads_exit_status_rid_and_headers_from_the_request():
    u, rid = uuid.uuid4(), uuid.uuid4()
    scope = {
        "type": "http",
        "method": "POST",
        "path": f"/ping/{u}/3",
        "query_string": f"rid={rid}".encode(),
        "headers": [(b"user-agent", b"x" * 500), (b"ping-body-limit", b"10")],
        "client": ("10.0.0.7", 5555),
    }
    parsed = ping_fastpath._parse(scope)
    assert (parsed["uuid"], parsed["exit_status"], parsed["rid"]) == (u, 3, rid)
    assert (parsed["remote_addr"], len(parsed["user_agent"]), parsed["limit_header"]) == (
        "10.0.0.7",
        200,
        "10",
    )
