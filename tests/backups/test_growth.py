"""Repository growth: a sentence when the last run added far more than usual, and nothing otherwise."""

from datetime import UTC, datetime, timedelta

import pytest

from keepwell.backups.engine import growth_alert

MiB = 1 << 20
START = datetime(2026, 1, 1, tzinfo=UTC)


def series(deltas, start_size=500 * MiB):
    size = start_size
    samples = [(START, size)]
    for day, delta in enumerate(deltas, start=1):
        size += delta
        samples.append((START + timedelta(days=day), size))
    return samples


def test_steady_growth_says_nothing():
    assert growth_alert(series([10 * MiB] * 10)) is None


def test_a_run_that_adds_far_more_than_the_median_is_reported():
    sentence = growth_alert(series([10 * MiB] * 6 + [400 * MiB]))
    assert sentence is not None
    assert "400.0 MiB" in sentence
    assert "40 times the usual 10.0 MiB" in sentence
    assert "database file backed up raw" in sentence


def test_small_repositories_never_raise_an_alarm():
    assert growth_alert(series([1000] * 6 + [60 * MiB])) is None  # under the 64 MiB floor


def test_a_few_runs_are_not_enough_to_know_what_is_usual():
    assert growth_alert(series([1 * MiB, 1 * MiB, 900 * MiB])) is None


def test_the_order_of_samples_does_not_matter():
    samples = series([10 * MiB] * 6 + [400 * MiB])
    assert growth_alert(list(reversed(samples))) == growth_alert(samples)


def test_shrinking_after_a_prune_is_not_growth():
    assert growth_alert(series([10 * MiB] * 6 + [-300 * MiB])) is None


def test_growth_from_nothing_is_reported_without_a_ratio():
    sentence = growth_alert(series([0] * 6 + [200 * MiB]))
    assert sentence is not None and "far more than the usual 0 B" in sentence


@pytest.mark.parametrize("factor", [2.0, 50.0])
def test_the_factor_is_the_threshold(factor):
    result = growth_alert(series([10 * MiB] * 6 + [100 * MiB]), factor=factor)
    assert (result is not None) == (factor < 10)


@pytest.mark.parametrize(
    "samples",
    [[], [(START, -5)] * 10, [(START, "big")] * 10, [(START + timedelta(days=i), None) for i in range(10)]],
)
def test_malformed_samples_are_ignored(samples):
    assert growth_alert(samples) is None


def test_a_huge_history_is_handled():
    assert growth_alert(series([10 * MiB] * 50_000)) is None
