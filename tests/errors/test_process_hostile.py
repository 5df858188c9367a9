"""Processing hostile and malformed events: nothing raises, everything stored is bounded and clean."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from keepwell.errors import items, processing
from keepwell.errors.models import ErrorEvent, ErrorGroup, EventAttachment, GroupTag


def envelope(*items, header=None) -> bytes:
    """Build an envelope from (type, payload bytes or JSON value) pairs."""
    lines = [json.dumps(header or {}).encode()]
    for kind, payload in items:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        lines += [json.dumps({"type": kind, "length": len(body)}).encode(), body]
    return b"\n".join(lines) + b"\n"


def event(**fields):
    return {"event_id": "a" * 32, "exception": {"values": [{"type": "ValueError", "value": "bad"}]}, **fields}


@pytest.mark.django_db
def test_an_item_that_is_not_json_or_not_an_object_is_dropped(service):
    outcome = processing.process_body(
        service,
        envelope(
            ("event", b"{not json"), ("event", [1, 2, 3]), ("session", b"\xff\xfe"), ("transaction", {})
        ),
    )
    assert outcome.dropped == 4 and not outcome.events
    assert not ErrorGroup.objects.exists()


@pytest.mark.django_db
def test_a_garbled_envelope_in_the_spool_is_dropped_not_raised(service):
    outcome = processing.process_body(service, b'{"event_id": "x"}\n{"type": "event", "length": 999}\n{}')
    assert outcome.dropped == 1 and not ErrorEvent.objects.exists()


@pytest.mark.django_db
def test_huge_values_are_cut_and_the_stored_event_stays_small(service):
    frames = [
        {"function": f"f{i}", "module": "m", "in_app": True, "vars": {"x": "y" * 2_000}} for i in range(2_000)
    ]
    data = event(
        message="m" * 2_000_000,
        exception={
            "values": [{"type": "T" * 100_000, "value": "v" * 1_000_000, "stacktrace": {"frames": frames}}]
        },
        tags={f"k{i}": "v" * 10_000 for i in range(500)},
        breadcrumbs={"values": [{"message": "b" * 10_000}] * 1_000},
        extra={"blob": "x" * 5_000_000},
    )
    outcome = processing.process_body(service, envelope(("event", data)))
    assert outcome.events == ["a" * 32]
    stored = ErrorEvent.objects.get()
    assert len(bytes(stored.data)) < 200_000, "compressed, cut to limits"
    unpacked = stored.unpack()
    assert len(unpacked["exceptions"][-1]["frames"]) == 100
    assert len(unpacked["breadcrumbs"]) == 100
    assert len(ErrorGroup.objects.get().title) <= 250
    assert GroupTag.objects.exclude(key__in=["level"]).count() == 50
    assert all(len(t.value) <= 210 for t in GroupTag.objects.all())


@pytest.mark.django_db
def test_deeply_nested_contexts_are_cut(service):
    nested = current = {}
    for _ in range(100):
        current["d"] = {}
        current = current["d"]
    processing.process_body(
        service, envelope(("event", event(contexts={"deep": nested}, extra={"deep": nested})))
    )
    stored = ErrorEvent.objects.get().unpack()
    assert json.dumps(stored["contexts"]).count('"d"') < 6


@pytest.mark.django_db
def test_wrong_types_everywhere_are_tolerated(service):
    data = {
        "event_id": "not-an-id",
        "timestamp": "yesterday",
        "level": ["error"],
        "release": {"v": 1},
        "environment": 7,
        "user": "alice",
        "tags": [["ok", "yes"], ["only-one"], "str", [None, None], [1, 2, 3]],
        "request": {"headers": "nope", "query_string": [["a", "b"], 5], "url": 5},
        "breadcrumbs": "none",
        "fingerprint": "not-a-list",
        "exception": {"values": [{"type": None, "stacktrace": {"frames": [None, 5, {"lineno": "x"}]}}]},
        "contexts": [],
        "sdk": "python",
    }
    outcome = processing.process_body(service, envelope(("event", data)))
    assert len(outcome.events) == 1 and len(outcome.events[0]) == 32
    group = ErrorGroup.objects.get()
    assert group.title == "Error" and group.level == "error"
    assert set(GroupTag.objects.values_list("key", "value")) >= {("ok", "yes"), ("environment", "7")}


@pytest.mark.django_db
def test_nul_characters_are_removed_before_they_reach_the_database(service):
    data = event(
        release="1.0\x00",
        tags={"k\x00": "v\x00"},
        exception={"values": [{"type": "E\x00", "value": "x\x00"}]},
    )
    processing.process_body(service, envelope(("event", data)))
    assert ErrorGroup.objects.get().title == "E: x"
    assert ErrorEvent.objects.get().release == "1.0"


@pytest.mark.django_db
def test_a_timestamp_in_the_future_is_taken_as_the_time_received(service):
    future = (timezone.now() + timedelta(days=400)).timestamp()
    processing.process_body(service, envelope(("event", event(timestamp=future))))
    assert ErrorEvent.objects.get().timestamp <= timezone.now()
    processing.process_body(service, envelope(("event", event(event_id="b" * 32, timestamp=1e300))))
    assert ErrorEvent.objects.count() == 2


@pytest.mark.django_db
def test_tag_values_per_key_are_capped(service, monkeypatch):
    monkeypatch.setattr(processing, "MAX_TAG_VALUES", 3)
    for i in range(6):
        processing.process_body(
            service, envelope(("event", event(event_id=f"{i:032x}", tags={"sku": f"s{i}"})))
        )
    assert GroupTag.objects.filter(key="sku").count() == 3
    assert ErrorGroup.objects.get().count == 6


@pytest.mark.django_db
def test_an_attachment_without_an_event_is_dropped(service):
    outcome = processing.process_body(service, envelope(("attachment", b"data")))
    assert outcome.dropped == 1 and not EventAttachment.objects.exists()


@pytest.mark.django_db
def test_user_reports_without_comments_and_feedback_of_any_shape(service):
    assert (
        items.record_report(service, "user_report", {"event_id": "a" * 32, "comments": "  "}, timezone.now())
        == 0
    )
    assert items.record_report(service, "feedback", {"contexts": "x"}, timezone.now()) == 0
    assert (
        items.record_report(
            service,
            "feedback",
            {
                "contexts": {
                    "feedback": {
                        "message": "Checkout hangs",
                        "contact_email": "a@b.c",
                        "associated_event_id": "c" * 32,
                    }
                }
            },
            timezone.now(),
        )
        == 1
    )


@pytest.mark.django_db
def test_an_envelope_that_fails_to_store_is_dropped_and_the_rest_of_its_batch_stored(service, monkeypatch):
    from keepwell.errors.models import Dsn, RawEnvelope

    dsn = Dsn.issue(service)
    for i in range(4):
        RawEnvelope.objects.create(
            dsn=dsn, service=service, body=envelope(("event", event(event_id=f"{i:032x}")))
        )
    poison = RawEnvelope.objects.create(
        dsn=dsn, service=service, body=envelope(("event", event(event_id="e" * 32)))
    )
    real_store = processing.store

    def store(batch):
        if any(p.events and p.events[0].event_id == "e" * 32 for p in batch):
            raise ValueError("a bug met an event it cannot handle")
        return real_store(batch)

    monkeypatch.setattr(processing, "store", store)
    outcome = processing.process_spool()
    assert len(outcome.events) == 4 and outcome.dropped == 1
    assert not RawEnvelope.objects.filter(pk=poison.pk).exists(), "it does not block the spool behind it"
    assert ErrorGroup.objects.get().count == 4


@pytest.mark.django_db
def test_a_timestamp_decades_back_is_taken_as_the_time_received(service):
    processing.process_body(service, envelope(("event", event(timestamp="0001-01-01T00:00:00Z"))))
    group = ErrorGroup.objects.get()
    assert group.first_seen > timezone.now() - timedelta(minutes=1)
