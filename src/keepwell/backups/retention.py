"""Retention: the keep-* policy, validated, applied with restic forget and prune."""

from __future__ import annotations

from keepwell.backups import restic as restic_module
from keepwell.backups.restic import RepoSpec

KEYS = ("keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly")
MAX_KEEP = 100_000


def validate_retention(retention) -> dict:
    """Return the policy with only positive counts; raise ValueError naming the field that is wrong."""
    if not isinstance(retention, dict):
        raise ValueError('retention must be an object such as {"keep_daily": 7, "keep_weekly": 4}.')
    unknown = sorted(set(retention) - set(KEYS))
    if unknown:
        raise ValueError(f"retention has unknown field {unknown[0]!r}; use {', '.join(KEYS)}.")
    clean = {}
    for key in KEYS:
        value = retention.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_KEEP:
            raise ValueError(f"retention.{key} must be a whole number from 0 to {MAX_KEEP} (got {value!r}).")
        if value:
            clean[key] = value
    if not clean:
        raise ValueError(
            "retention must keep something: set at least one of " + ", ".join(KEYS) + " above 0."
        )
    return clean


def forget_args(retention: dict, tags: list[str] | None = None) -> list[str]:
    """Return the arguments of `restic forget` for the policy (one group per source path and tag set)."""
    args = ["--group-by", "paths,tags"]
    for key, value in validate_retention(retention).items():
        args += ["--" + key.replace("_", "-"), str(value)]
    if tags:
        args += ["--tag", ",".join(restic_module.validate_tags(tags))]
    return args


def parse_forget(groups) -> dict:
    """Return {"kept": [ids], "removed": [ids]} from restic forget's JSON output."""
    kept: list[str] = []
    removed: list[str] = []
    for group in groups or []:
        if not isinstance(group, dict):
            continue
        kept += [s["id"] for s in group.get("keep") or [] if isinstance(s, dict) and "id" in s]
        removed += [s["id"] for s in group.get("remove") or [] if isinstance(s, dict) and "id" in s]
    return {"kept": kept, "removed": removed}


def forget_prune(spec: RepoSpec, retention: dict, *, tags: list[str] | None = None) -> dict:
    """Forget the snapshots the policy does not keep, then prune the data only they used."""
    groups = restic_module.run_json(spec, "forget", *forget_args(retention, tags))
    result = parse_forget(groups)
    if result["removed"]:
        restic_module.run(spec, "prune")
    return result
