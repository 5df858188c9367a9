"""The throttle on its own, against the cache the test settings configure (files, or Redis)."""

import uuid

import pytest
from django.core.cache import caches

from keepwell.core.throttle import Throttle, Throttled


def test_the_throttle_counts_in_the_configured_cache(db):
    """Runs against the real cache of the test settings: files, or Redis with KEEPWELL_TEST_REDIS_URL."""
    assert "LocMem" not in type(caches["default"]).__name__
    throttle = Throttle(f"test-{uuid.uuid4().hex}", limit=2, window=60)
    throttle.fail("someone@example.org")
    throttle.check("someone@example.org")
    throttle.fail("someone@example.org")
    with pytest.raises(Throttled) as exc:
        throttle.check("someone@example.org")
    assert exc.value.minutes == 1
    assert exc.value.message == "Too many failed sign-ins, try again in 1 minute."
    throttle.reset("someone@example.org")
    throttle.check("someone@example.org")


def test_the_throttle_message_counts_minutes_up():
    assert Throttled(61).message == "Too many failed sign-ins, try again in 2 minutes."
    assert Throttled(0).minutes == 1


def test_the_throttle_ignores_empty_keys(db):
    throttle = Throttle(f"test-{uuid.uuid4().hex}", limit=1, window=60)
    throttle.fail("", None)
    throttle.check("", None)
    assert throttle.wait("") == 0
