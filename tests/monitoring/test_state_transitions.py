"""The monitor state machine as pure functions (no database): retries, locations, dependencies, flapping."""

from datetime import UTC, datetime, timedelta

from keepwell.monitoring.transitions import (
    DOWN,
    FLAP_LIMIT,
    FLAP_WINDOW,
    PENDING,
    UNREACHABLE,
    UP,
    Flaps,
    decide,
    flap,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def status(current, by_location, retries=1, locations=1, parent_down=False):
    return decide(
        current,
        by_location=by_location,
        retries=retries,
        locations_required=locations,
        parent_down=parent_down,
    )


def test_a_passing_check_makes_a_pending_monitor_up():
    assert status(PENDING, {"local": [True]}) == UP


def test_a_failing_check_makes_it_down_without_retries():
    assert status(UP, {"local": [False]}) == DOWN


def test_retries_keep_it_up_until_enough_checks_fail_in_a_row():
    assert status(UP, {"local": [False, True]}, retries=3) == UP
    assert status(UP, {"local": [False, False, True]}, retries=3) == UP
    assert status(UP, {"local": [False, False, False]}, retries=3) == DOWN
    assert status(PENDING, {"local": [False]}, retries=2) == PENDING


def test_a_down_monitor_stays_down_until_a_check_passes():
    assert status(DOWN, {"local": [False]}, retries=3) == DOWN
    assert status(DOWN, {"local": [True, False, False]}, retries=3) == UP


def test_it_needs_the_required_number_of_locations_to_agree():
    one_fails = {"berlin": [False], "tokyo": [True]}
    assert status(UP, one_fails, locations=2) == UP
    both_fail = {"berlin": [False], "tokyo": [False]}
    assert status(UP, both_fail, locations=2) == DOWN
    assert status(UP, {"berlin": [False]}, locations=2) == UP


def test_a_failing_child_of_a_down_parent_is_unreachable():
    assert status(UP, {"local": [False]}, parent_down=True) == UNREACHABLE
    assert status(UNREACHABLE, {"local": [True]}, parent_down=True) == UP


def test_changes_within_the_limit_do_not_flap():
    state = Flaps(0, None, False)
    for i in range(FLAP_LIMIT):
        state = flap(state, changed=True, now=T0 + timedelta(minutes=i))
    assert state.count == FLAP_LIMIT and not state.flapping


def test_one_change_too_many_within_the_window_flaps():
    state = Flaps(0, None, False)
    for i in range(FLAP_LIMIT + 1):
        state = flap(state, changed=True, now=T0 + timedelta(minutes=i))
    assert state.flapping


def test_changes_spread_over_more_than_a_window_do_not_flap():
    state = Flaps(0, None, False)
    for i in range(FLAP_LIMIT * 3):
        state = flap(state, changed=True, now=T0 + i * (FLAP_WINDOW / 3))
    assert not state.flapping


def test_flapping_ends_after_a_calm_window_not_before():
    state = Flaps(FLAP_LIMIT + 1, T0, True)
    state = flap(state, changed=False, now=T0 + FLAP_WINDOW + timedelta(minutes=1))
    assert state.flapping, "the window that made it flap just ended; a calm one must follow"
    state = flap(state, changed=False, now=T0 + FLAP_WINDOW + timedelta(minutes=30))
    assert state.flapping
    state = flap(state, changed=False, now=T0 + 2 * FLAP_WINDOW + timedelta(minutes=2))
    assert not state.flapping
