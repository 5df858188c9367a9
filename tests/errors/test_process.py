"""Processing: envelopes from the real sentry-sdk become groups, events, releases and findings."""

from datetime import timedelta

import pytest
import sentry_sdk
from django.utils import timezone
from errors_sdk import capture, checkout, report

from keepwell.core.models import Finding, Release
from keepwell.errors import processing, tasks
from keepwell.errors.models import Dsn, ErrorEvent, ErrorGroup, GroupTag, RawEnvelope
from keepwell.errors.states import change_status

Status = ErrorGroup.Status


def send(service, *runs, **options):
    """Capture with the real SDK and process each envelope; return the outcomes."""
    options.setdefault("release", "1.0.0")
    outcomes = []
    for body in capture(lambda: [r() for r in runs], **options):
        outcomes.append(processing.process_body(service, body))
    return outcomes


@pytest.mark.django_db
def test_it_groups_stores_and_counts_a_python_exception(service):
    send(
        service,
        report(checkout, 1, user={"id": "u1"}, tags={"region": "eu"}),
        report(checkout, 2, user={"id": "u2"}, tags={"region": "eu"}),
        report(checkout, 3, user={"id": "u1"}, tags={"region": "us"}),
        environment="production",
    )
    group = ErrorGroup.objects.get()
    assert group.title == "KeyError: 'total'"
    assert group.culprit.endswith("in checkout")
    assert group.type == "KeyError"
    assert (group.count, group.users, group.status, group.regressed) == (3, 2, "unresolved", False)
    assert group.last_release == "1.0.0"
    assert ErrorEvent.objects.filter(group=group).count() == 3
    tags = {(t.key, t.value): t.count for t in GroupTag.objects.filter(group=group)}
    assert tags[("region", "eu")] == 2 and tags[("region", "us")] == 1
    assert tags[("release", "1.0.0")] == 3
    assert tags[("environment", "production")] == 3
    assert Release.objects.filter(service=service, version="1.0.0").exists()
    event = ErrorEvent.objects.filter(group=group).first().unpack()
    frame = event["exceptions"][-1]["frames"][-1]
    assert frame["function"] == "checkout" and frame["in_app"] and 'cart["total"]' in frame["context_line"]
    finding = Finding.objects.get(service=service, source="errors")
    assert (finding.severity, finding.state, finding.key) == ("warning", "open", f"group:{group.pk}")
    assert finding.url == f"/o/acme/errors/{group.pk}/"


@pytest.mark.django_db
def test_it_stores_an_event_id_once(service):
    bodies = capture(report(checkout, 1))
    first = processing.process_body(service, bodies[0])
    again = processing.process_body(service, bodies[0])
    assert len(first.events) == 1 and again.duplicates == 1 and not again.events
    assert ErrorGroup.objects.get().count == 1


def _group_at(service, release):
    send(service, report(checkout, 1), release=release)
    return ErrorGroup.objects.get(service=service)


@pytest.mark.django_db
def test_an_event_from_a_newer_release_reopens_a_resolved_group_as_regressed(service):
    group = change_status(_group_at(service, "1.2.0"), Status.RESOLVED)
    assert group.resolved_release == "1.2.0"
    assert Finding.objects.get(source="errors").state == "resolved"

    send(service, report(checkout, 1), release="1.10.0")  # newer by number, not by string order
    group.refresh_from_db()
    assert (group.status, group.regressed) == ("unresolved", True)
    finding = Finding.objects.get(source="errors")
    assert (finding.state, finding.severity) == ("open", "critical")
    assert "1.10.0" in finding.detail


@pytest.mark.django_db
def test_an_event_from_an_older_release_leaves_a_resolved_group_resolved(service):
    """Sentry compares by date and re-opens on an old release still running somewhere; keepwell does not."""
    group = change_status(_group_at(service, "2.0.0"), Status.RESOLVED)
    send(service, report(checkout, 1), release="1.9.9")
    group.refresh_from_db()
    assert (group.status, group.regressed, group.count) == ("resolved", False, 2)
    assert Finding.objects.get(source="errors").state == "resolved"


@pytest.mark.django_db
def test_resolved_in_next_release_waits_for_a_newer_release(service):
    group = change_status(_group_at(service, "3.0.0"), Status.RESOLVED_NEXT)
    send(service, report(checkout, 1), release="3.0.0")
    group.refresh_from_db()
    assert group.status == "resolved_next", "the release it was resolved in still has the bug"
    send(service, report(checkout, 1), release="3.0.1")
    group.refresh_from_db()
    assert (group.status, group.regressed) == ("unresolved", True)


@pytest.mark.django_db
def test_a_plain_resolve_reopens_on_the_same_release(service):
    group = change_status(_group_at(service, "3.0.0"), Status.RESOLVED)
    send(service, report(checkout, 1), release="3.0.0")
    group.refresh_from_db()
    assert (group.status, group.regressed) == ("unresolved", True)


@pytest.mark.django_db
def test_non_version_releases_compare_by_when_they_were_first_seen(service):
    group = _group_at(service, "b7e6d5c")
    Release.objects.filter(version="b7e6d5c").update(created=timezone.now() - timedelta(days=2))
    change_status(group, Status.RESOLVED)
    Release.objects.create(service=service, version="0a1b2c3", created=timezone.now() - timedelta(days=5))
    send(service, report(checkout, 1), release="0a1b2c3")
    group.refresh_from_db()
    assert group.status == "resolved", "an older build does not re-open it"
    send(service, report(checkout, 1), release="f00dfee")
    group.refresh_from_db()
    assert (group.status, group.regressed) == ("unresolved", True)


@pytest.mark.django_db
def test_ignore_until_n_more_events(service):
    group = change_status(_group_at(service, "1.0.0"), Status.IGNORED, ignore_count=2)
    assert Finding.objects.get(source="errors").state == "resolved"
    send(service, report(checkout, 1))
    group.refresh_from_db()
    assert group.status == "ignored"
    send(service, report(checkout, 1))
    group.refresh_from_db()
    assert (group.status, group.regressed, group.count) == ("unresolved", False, 3)
    assert Finding.objects.get(source="errors").state == "open"


@pytest.mark.django_db
def test_ignore_until_a_time_ends_at_that_time(service):
    group = change_status(
        _group_at(service, "1.0.0"), Status.IGNORED, ignore_until=timezone.now() + timedelta(hours=1)
    )
    assert tasks.end_ignores() == 0
    ErrorGroup.objects.filter(pk=group.pk).update(ignored_until=timezone.now() - timedelta(seconds=1))
    assert tasks.end_ignores() == 1
    group.refresh_from_db()
    assert group.status == "unresolved"


@pytest.mark.django_db
def test_it_raises_a_spike_finding_once_an_hour_passes_the_threshold(service, settings):
    settings.ERRORS_SPIKE_MIN_EVENTS = 5
    send(service, *[report(checkout, 1) for _ in range(4)])
    assert not Finding.objects.filter(key__endswith=":spike").exists()
    send(service, *[report(checkout, 1) for _ in range(3)])
    spike = Finding.objects.get(key__endswith=":spike")
    assert spike.count == 1 and spike.state == "open"
    assert processing.spike_threshold([0] * 167 + [30]) == 5
    assert processing.spike_threshold([10] * 168) == 101
    group = ErrorGroup.objects.get()
    change_status(group, Status.RESOLVED)
    assert not Finding.objects.filter(source="errors").exclude(state="resolved").exists()


@pytest.mark.django_db
def test_a_message_event_and_an_exception_make_two_groups(service):
    send(service, report(checkout, 1), lambda: sentry_sdk.capture_message("Stock for item 42 is negative"))
    send(service, lambda: sentry_sdk.capture_message("Stock for item 7 is negative"))
    titles = sorted(ErrorGroup.objects.values_list("title", "count"))
    assert titles == [("KeyError: 'total'", 1), ("Stock for item 7 is negative", 2)], (
        "the title is the latest"
    )


@pytest.mark.django_db
def test_the_job_processes_a_spooled_envelope_once_and_deletes_it(service):
    dsn = Dsn.issue(service)
    body = capture(report(checkout, 1))[0]
    raw = RawEnvelope.objects.create(dsn=dsn, service=service, body=body)
    tasks.process_envelope(raw.pk)  # Huey runs it at once in tests
    assert not RawEnvelope.objects.filter(pk=raw.pk).exists()
    assert processing.process_spool() is None, "nothing left in the spool"
    assert processing.process_envelope(raw.pk) is None, "a retry finds nothing left to do"
    assert ErrorGroup.objects.get().count == 1


@pytest.mark.django_db
def test_the_sweep_processes_envelopes_left_in_the_spool(service):
    dsn = Dsn.issue(service)
    bodies = capture(lambda: [report(checkout, 1)(), report(checkout, 2)()])
    old = timezone.now() - timedelta(minutes=5)
    for body in bodies:
        RawEnvelope.objects.create(dsn=dsn, service=service, body=body, received_at=old)
    RawEnvelope.objects.create(dsn=dsn, service=service, body=bodies[0])  # a retry of the first one
    assert tasks.sweep_spool.call_local() == 2, "the two older than a minute are enqueued"
    assert not RawEnvelope.objects.exists(), "their batch took the newer one with them"
    assert ErrorGroup.objects.get().count == 2, "the retried event is stored once"


@pytest.mark.django_db
def test_retention_prunes_old_events_and_keeps_groups(service, settings):
    send(service, report(checkout, 1), report(checkout, 2))
    ErrorEvent.objects.filter(pk=ErrorEvent.objects.order_by("id").first().pk).update(
        timestamp=timezone.now() - timedelta(days=settings.ERRORS_RETENTION_DAYS + 1)
    )
    assert tasks.prune_events.call_local() == 1
    assert ErrorEvent.objects.count() == 1
    assert ErrorGroup.objects.get().count == 2


@pytest.mark.django_db
def test_a_batch_of_envelopes_counts_states_tags_and_users_as_one_at_a_time_would(service):
    dsn = Dsn.issue(service)
    change_status(_group_at(service, "1.0.0"), Status.RESOLVED)
    runs = [report(checkout, i, user={"id": f"u{i % 3}"}, tags={"region": "eu"}) for i in range(1, 7)]
    for release, body in zip(
        ["0.9.0", "0.9.0", "1.1.0", "1.1.0", "1.1.0", "1.1.0"],
        capture(lambda: [r() for r in runs], release="1.0.0"),
        strict=True,
    ):
        RawEnvelope.objects.create(
            dsn=dsn, service=service, body=body.replace(b'"1.0.0"', f'"{release}"'.encode())
        )
    outcome = processing.process_spool()
    assert outcome.envelopes == 6 and len(outcome.events) == 6
    group = ErrorGroup.objects.get()
    assert (group.count, group.status, group.regressed, group.last_release) == (
        7,
        "unresolved",
        True,
        "1.1.0",
    )
    assert group.users == 3
    tags = {(t.key, t.value): t.count for t in GroupTag.objects.filter(group=group)}
    assert tags[("release", "0.9.0")] == 2 and tags[("release", "1.1.0")] == 4 and tags[("region", "eu")] == 6
    assert Finding.objects.get(source="errors").severity == "critical"


@pytest.mark.django_db
def test_a_spike_finding_is_resolved_an_hour_after_the_spike(service, settings):
    settings.ERRORS_SPIKE_MIN_EVENTS = 2
    send(service, report(checkout, 1), report(checkout, 2))
    spike = Finding.objects.get(key__endswith=":spike")
    assert tasks.end_spikes.call_local() == 0, "the spike is still on"
    Finding.objects.filter(pk=spike.pk).update(last_seen=timezone.now() - timedelta(hours=2))
    assert tasks.end_spikes.call_local() == 1
    spike.refresh_from_db()
    assert spike.state == "resolved"
    assert Finding.objects.get(key=f"group:{ErrorGroup.objects.get().pk}").state == "open"


@pytest.mark.django_db
def test_a_burst_of_envelopes_waits_for_the_one_pending_job(service):
    from django.core.cache import cache

    dsn = Dsn.issue(service)
    bodies = capture(lambda: [report(checkout, i)() for i in range(1, 4)])
    rows = [RawEnvelope.objects.create(dsn=dsn, service=service, body=b) for b in bodies]
    cache.add(tasks.PENDING_KEY, 1, timeout=60)  # a job is already waiting in the queue
    for row in rows[:2]:
        tasks.process_envelope(row.pk)
    assert RawEnvelope.objects.count() == 3, "no second job was enqueued"
    assert tasks.process_spool_job.call_local() == 3, "the waiting job takes the whole spool"
    assert cache.get(tasks.PENDING_KEY) is None
    tasks.process_envelope(rows[2].pk)  # an envelope already processed: nothing to do
    assert ErrorGroup.objects.get().count == 3


@pytest.mark.django_db
def test_the_auto_ip_placeholder_becomes_the_sender_s_address(service):
    def run():
        with sentry_sdk.new_scope() as scope:
            scope.set_user({"ip_address": "{{auto}}"})
            sentry_sdk.capture_message("Who am I")

    body = capture(run, send_default_pii=True)[0]  # without it the SDK sends no address at all
    assert b'"ip_address":"{{auto}}"' in body
    processing.process_body(service, body, client_ip="203.0.113.9")
    event = ErrorEvent.objects.get()
    assert event.user_key == "ip_address:203.0.113.9"
    assert event.unpack()["user"] == {"ip_address": "203.0.113.9"}
    processing.process_body(service, body.replace(event.event_id.encode(), b"b" * 32))
    assert ErrorEvent.objects.get(event_id="b" * 32).user_key == ""
