"""The fix-by policy (pure): days per severity, overdue, and the core severity it gives."""

from datetime import UTC, datetime, timedelta

import pytest

from keepwell.security import fixby

SEEN = datetime(2030, 1, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize("severity, days", [("critical", 7), ("high", 30), ("medium", 90), ("low", 180)])
def test_the_default_policy_gives_days_per_severity(severity, days):
    assert fixby.deadline(severity, SEEN).fix_by == SEEN + timedelta(days=days)


def test_the_policy_can_be_changed_per_severity():
    assert fixby.deadline("critical", SEEN, {"critical": 2}).fix_by == SEEN + timedelta(days=2)
    assert fixby.deadline("high", SEEN, {"critical": 2}).fix_by == SEEN + timedelta(days=30)


@pytest.mark.parametrize("word, name", [("MODERATE", "medium"), ("unknown", "medium"), ("Important", "high"),
                                        (" low ", "low")])  # fmt: skip
def test_other_tools_words_are_understood(word, name):
    assert fixby.normalize(word) == name


@pytest.mark.parametrize("word", ["", "severe", None, "x" * 1000])
def test_an_unknown_severity_is_refused_by_name(word):
    with pytest.raises(ValueError, match="severity must be one of critical, high, medium, low"):
        fixby.normalize(word)


def test_a_deadline_is_overdue_from_its_fix_by_date_and_then_critical():
    deadline = fixby.deadline("medium", SEEN)
    before = deadline.fix_by - timedelta(seconds=1)
    assert not deadline.overdue(before) and deadline.core_severity(before) == "warning"
    assert deadline.overdue(deadline.fix_by) and deadline.core_severity(deadline.fix_by) == "critical"
    assert fixby.deadline("low", SEEN).core_severity(SEEN) == "info"
    assert fixby.deadline("high", SEEN).core_severity(SEEN) == "critical"


def test_the_description_names_the_date_and_once_late_since_when():
    deadline = fixby.deadline("critical", SEEN)
    assert (
        deadline.describe(SEEN) == "Fix by 2030-01-08 (7 days for critical severity, first seen 2030-01-01)."
    )
    late = deadline.describe(SEEN + timedelta(days=10))
    assert late.startswith("Overdue since 2030-01-08 (3 days late;") and "Escalated to critical" in late
    assert deadline.days_left(SEEN) == 7 and deadline.days_left(SEEN + timedelta(days=9)) == -2
