import time

import pytest
from django.core.cache import cache
from huey.contrib.djhuey import HUEY

from keepwell.core import tasks
from keepwell.core.findings import raise_finding


@pytest.fixture
def clean_schedule():
    cache.clear()
    HUEY.storage.flush_schedule()
    yield
    HUEY.storage.flush_schedule()


def scheduled_passes():
    return [t for t in HUEY.scheduled() if t.name.endswith("alerting_pass_soon")]


@pytest.mark.django_db(transaction=True)
def test_a_new_finding_asks_for_a_prompt_pass_once_per_step(service, clean_schedule):
    raise_finding(service, source="monitoring", key="a", title="A is down")
    raise_finding(service, source="monitoring", key="b", title="B is down")
    passes = scheduled_passes()
    # Both events fall in the same few-second bucket (or, at a bucket's edge, the next one).
    assert 1 <= len(passes) <= 2


def test_a_pass_is_not_asked_twice_for_one_moment(clean_schedule):
    at = time.time() + 12
    assert tasks.schedule_pass(at) is True
    assert tasks.schedule_pass(at) is False
    assert len(scheduled_passes()) == 1


def test_what_falls_due_beyond_the_horizon_is_left_to_the_periodic_pass(clean_schedule):
    assert tasks.schedule_pass(time.time() + tasks.HORIZON + 30) is False
    assert scheduled_passes() == []


@pytest.mark.django_db
def test_after_a_pass_the_next_one_is_asked_for_when_a_burst_closes(service, clean_schedule):
    from datetime import timedelta

    from django.utils import timezone

    from keepwell.core.models import Channel, Notification

    channel = Channel.objects.create(organization=service.organization, name="ops", kind="webhook")
    Notification.objects.create(
        organization=service.organization,
        channel=channel,
        event="opened",
        subject="",
        body="",
        status=Notification.Status.GROUPING,
        next_attempt_at=timezone.now() + timedelta(seconds=20),
    )
    assert tasks.schedule_next_pass() is True
    [task] = scheduled_passes()
    assert task.eta is not None
