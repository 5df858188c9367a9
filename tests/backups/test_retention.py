"""Retention: the keep-* policy, validated, applied by restic forget and prune."""

import pytest
from test_restic_support import make_tree

from keepwell.backups import engine
from keepwell.backups.retention import forget_args, parse_forget

pytest_plugins = ("test_restic_support",)


def test_a_policy_keeps_only_positive_counts():
    assert engine.validate_retention({"keep_daily": 7, "keep_weekly": 0, "keep_last": None}) == {
        "keep_daily": 7
    }


@pytest.mark.parametrize(
    ("retention", "message"),
    [
        (None, "retention must be an object"),
        ([7], "retention must be an object"),
        ({}, "retention must keep something"),
        ({"keep_daily": 0}, "retention must keep something"),
        ({"keep_forever": 1}, "unknown field 'keep_forever'"),
        ({"keep_daily": -1}, r"retention.keep_daily must be a whole number"),
        ({"keep_daily": "7"}, r"retention.keep_daily must be a whole number"),
        ({"keep_daily": 7.5}, r"retention.keep_daily must be a whole number"),
        ({"keep_daily": True}, r"retention.keep_daily must be a whole number"),
        ({"keep_yearly": 10**12}, r"retention.keep_yearly must be a whole number from 0 to 100000"),
    ],
)
def test_bad_policies_are_refused_with_the_field_named(retention, message):
    with pytest.raises(ValueError, match=message):
        engine.validate_retention(retention)


def test_forget_groups_by_source_path_and_plan_tags():
    args = forget_args({"keep_last": 3, "keep_monthly": 12}, tags=["plan-4", "svc"])
    assert args == [
        "--group-by",
        "paths,tags",
        "--keep-last",
        "3",
        "--keep-monthly",
        "12",
        "--tag",
        "plan-4,svc",
    ]


@pytest.mark.parametrize("output", [None, [], "text", [None, 5, {"keep": "x"}], [{"keep": [{"no": "id"}]}]])
def test_odd_forget_output_gives_empty_lists(output):
    assert parse_forget(output) == {"kept": [], "removed": []}


def test_forget_and_prune_remove_what_the_policy_does_not_keep(repo, tmp_path):
    tree = make_tree(tmp_path / "app", files=2)
    sources = [{"kind": "path", "paths": [str(tree)]}]
    made = []
    for round_ in range(2):
        (tree / "changing.txt").write_text(f"round {round_}")
        made.append(engine.run_backup(repo, sources, tags=["plan-1"]).snapshots[0]["id"])
    other = engine.run_backup(repo, sources, tags=["plan-2"]).snapshots[0]["id"]
    result = engine.forget_prune(repo, {"keep_last": 1}, tags=["plan-1"])
    assert result["removed"] == [made[0]]
    assert result["kept"] == [made[-1]]
    assert [s["id"] for s in engine.list_snapshots(repo)] == [made[-1], other]
    assert engine.check(repo).ok


@pytest.mark.parametrize("tags", [["a,b"], [""], [None], ["x" * 201]])
def test_tags_that_restic_would_misread_are_refused(tags):
    with pytest.raises(ValueError, match="is not valid"):
        forget_args({"keep_last": 1}, tags=tags)
