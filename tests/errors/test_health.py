"""Release health: crash-free sessions and users from the sessions the real sentry-sdk reports."""

import pytest
import sentry_sdk
from errors_sdk import capture
from sentry_sdk.utils import event_from_exception

from keepwell.core.models import Release
from keepwell.errors import health, items, processing
from keepwell.errors.models import ReleaseSession


def session(user, crash=False, error=False, mode="application"):
    """One session of `user`: clean, with a handled error, or ending in an unhandled crash."""

    def run():
        with sentry_sdk.isolation_scope() as scope:
            scope.set_user({"id": user})
            scope.start_session(session_mode=mode)
            if crash or error:
                try:
                    raise RuntimeError("boom")
                except RuntimeError as exc:
                    event, hint = event_from_exception(
                        exc,
                        client_options=sentry_sdk.get_client().options,
                        mechanism={"type": "test", "handled": not crash},
                    )
                    sentry_sdk.capture_event(event, hint=hint)
            scope.end_session()

    return run


def send(service, runs, release):
    for body in capture(lambda: [r() for r in runs], release=release, environment="production"):
        processing.process_body(service, body)


@pytest.mark.django_db
def test_it_computes_crash_free_sessions_and_users_per_release(service):
    send(
        service, [session("u1"), session("u1"), session("u2", crash=True), session("u3", error=True)], "2.0.0"
    )
    send(service, [session("u1"), session("u2")], "2.1.0")
    old = health.release_health(service, "2.0.0")
    assert (old["sessions"], old["crashed"], old["errored"]) == (4, 1, 1)
    assert old["crash_free_sessions"] == 75.0
    assert (old["users"], old["crashed_users"]) == (3, 1)
    assert old["crash_free_users"] == pytest.approx(66.667)
    new = health.release_health(service, "2.1.0")
    assert (new["sessions"], new["crash_free_sessions"], new["crash_free_users"]) == (2, 100.0, 100.0)
    assert set(Release.objects.filter(service=service).values_list("version", flat=True)) >= {
        "2.0.0",
        "2.1.0",
    }
    assert health.release_health(service, "2.1.0", "staging")["sessions"] == 0


@pytest.mark.django_db
def test_it_counts_request_mode_sessions_sent_in_aggregate(service):
    send(service, [session("u1", mode="request"), session("u2", mode="request", crash=True)], "3.0.0")
    result = health.release_health(service, "3.0.0")
    assert result["sessions"] == 2 and result["crashed"] == 1
    assert result["crash_free_sessions"] == 50.0


@pytest.mark.django_db
def test_a_session_update_with_a_lower_seq_does_not_undo_a_later_one(service):
    base = {"sid": "s1", "did": "u1", "attrs": {"release": "4.0.0"}, "started": "2030-01-01T00:00:00Z"}
    items.record_session(service, {**base, "status": "crashed", "seq": 5, "errors": 1})
    items.record_session(service, {**base, "status": "ok", "seq": 2})
    assert ReleaseSession.objects.get().status == "crashed"
    assert health.release_health(service, "4.0.0")["crash_free_sessions"] == 0.0


@pytest.mark.django_db
def test_it_ignores_sessions_without_a_release_and_hostile_values(service):
    assert items.record_session(service, {"sid": "x", "status": "crashed"}) == 0
    assert items.record_session(service, ["not", "a", "session"]) == 0
    assert items.record_sessions(service, {"attrs": {"release": "5"}, "aggregates": "nope"}) == 0
    counted = items.record_sessions(
        service,
        {
            "attrs": {"release": "5"},
            "aggregates": [{"exited": -4, "crashed": True}, {"exited": 2**40}, 7, {"exited": 3}],
        },
    )
    assert counted == 3
    assert health.release_health(service, "5")["sessions"] == 3


def test_the_rates_are_none_without_sessions():
    result = health.rates(health.Tally())
    assert result["crash_free_sessions"] is None and result["crash_free_users"] is None


@pytest.mark.django_db
def test_the_api_answers_release_health(alice_api, service):
    send(service, [session("u1"), session("u2", crash=True)], "6.0.0")
    response = alice_api.get("/api/v1/services/shop-api/release-health", {"release": "6.0.0"})
    assert response.status_code == 200
    assert response.json()["crash_free_sessions"] == 50.0
    assert alice_api.get("/api/v1/services/shop-api/release-health").status_code == 422
