"""Faults: a killed backup, stale and live locks, a damaged pack file, a full disk."""

import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
from test_restic_support import make_sqlite, make_tree

from keepwell.backups import engine
from keepwell.backups import restic as restic_module
from keepwell.backups.locks import judge, list_locks, restic_would_remove
from keepwell.backups.restic import BackupError

pytest_plugins = ("test_restic_support",)

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _lock(minutes_old, host="hub-1", pid=4242):
    time_ = (NOW - timedelta(minutes=minutes_old)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"
    return {"id": "a" * 64, "time": time_, "hostname": host, "pid": pid, "exclusive": False}


@pytest.mark.parametrize(
    ("lock", "alive", "remove", "why"),
    [
        (_lock(5), False, False, "younger than 10 min"),
        (_lock(15), True, False, "still running"),
        (_lock(15), False, True, "is gone and the lock is 15 min old"),
        (_lock(15, host="hub-2"), False, False, "(another host) is 15 min old, younger than 30 min"),
        (_lock(45, host="hub-2"), True, True, "has not refreshed its lock for 45 min"),
        ({"id": "b" * 64, "time": "soon", "hostname": "hub-1", "pid": 1}, False, False, "no readable time"),
        ({"id": "c" * 64}, False, False, "no readable time"),
    ],
)
def test_the_stale_lock_rule(lock, alive, remove, why):
    decision, reason = judge(lock, now=NOW, hostname="hub-1", older_than_minutes=10, alive=lambda pid: alive)
    assert decision is remove
    assert why in reason


def test_restic_unlock_is_only_used_when_it_would_remove_no_more_than_the_rule():
    # restic calls a dead local process's lock stale at once; the rule waits for the limit.
    assert restic_would_remove(_lock(2), now=NOW, hostname="hub-1", alive=lambda pid: False)
    assert not judge(_lock(2), now=NOW, hostname="hub-1", older_than_minutes=10, alive=lambda pid: False)[0]


def test_a_negative_limit_is_refused(repo):
    with pytest.raises(ValueError, match="older_than_minutes"):
        engine.remove_stale_locks(repo, older_than_minutes=-1)


def _restic_children() -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/comm") as handle:
                name = handle.read().strip()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and name == "restic":
            children.append(int(entry))
    return children


def test_a_backup_killed_midway_is_followed_by_a_good_run_and_a_clean_check(repo, tmp_path):
    data = tmp_path / "big"
    data.mkdir()
    for i in range(4):
        (data / f"blob-{i}.bin").write_bytes(os.urandom(16 << 20))
    sources = [{"kind": "path", "paths": [str(data)]}]
    killed = []

    def kill_midway(fraction, message):
        if not killed and fraction is not None and 0 < fraction < 0.9 and "blob" not in message:
            for pid in _restic_children():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    with pytest.raises(BackupError) as caught:
        engine.run_backup(repo, sources, tags=["plan"], progress=kill_midway)
    assert killed, "restic finished before it could be killed; use more data"
    assert "stopped by signal 9" in caught.value.message
    locks = list_locks(repo)
    assert [lock["pid"] for lock in locks] == killed
    # An exclusive command sees the dead process's lock until the policy removes it.
    with pytest.raises(BackupError) as caught:
        engine.check(repo)
    assert caught.value.kind == "locked"
    assert f"PID {killed[0]}" in caught.value.message
    assert engine.remove_stale_locks(repo, older_than_minutes=60) == []  # too young for this limit
    removed = engine.remove_stale_locks(repo, older_than_minutes=0)
    assert [record["pid"] for record in removed] == killed
    assert "is gone" in removed[0]["reason"]
    result = engine.run_backup(repo, sources, tags=["plan"])
    assert result.manifest["sources"][0]["files"] == 4
    check = engine.check(repo)
    assert check.ok, check.output
    assert "no errors were found" in check.output


def test_a_live_lock_is_reported_and_never_removed(repo):
    holder = subprocess.Popen(
        restic_module.command(repo, "backup", "--stdin", "--stdin-filename", "held"),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=restic_module.environment(repo),
    )
    try:
        locks_dir = os.path.join(repo.location, "locks")
        deadline = time.monotonic() + 20
        while not os.listdir(locks_dir) and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(BackupError) as caught:
            engine.forget_prune(repo, {"keep_last": 1})
        assert caught.value.kind == "locked"
        assert f"PID {holder.pid}" in caught.value.message
        assert engine.remove_stale_locks(repo, older_than_minutes=0) == []
        assert len(os.listdir(locks_dir)) == 1
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


CHECK_OUTPUT_0_14 = """create exclusive lock for repository
load indexes
check all packs
check snapshots, trees and blobs
[0:00] 100.00%  4 / 4 snapshots

read 100.0% of data packs
[0:00] 100.00%  8 / 8 packs
pack 4b5a655e: unexpected file size: got 5095, expected 2998
error for tree ea1c139c:
  decrypting blob ea1c139c failed: ciphertext verification failed
Pack ID does not match, want 4b5a655e, got 45d8d45e
Fatal: repository contains errors
"""


def test_check_output_is_reduced_to_the_lines_that_report_problems():
    assert restic_module.check_errors(CHECK_OUTPUT_0_14) == [
        "pack 4b5a655e: unexpected file size: got 5095, expected 2998",
        "error for tree ea1c139c:",
        "decrypting blob ea1c139c failed: ciphertext verification failed",
        "Pack ID does not match, want 4b5a655e, got 45d8d45e",
        "Fatal: repository contains errors",
    ]
    assert restic_module.check_errors("load indexes\nno errors were found\n") == []
    assert len(restic_module.check_errors("x\n" * 100_000)) == 100_000


def _largest_pack(repo) -> str:
    packs = []
    for directory, _dirs, names in os.walk(os.path.join(repo.location, "data")):
        packs += [os.path.join(directory, name) for name in names]
    return max(packs, key=os.path.getsize)


def test_a_damaged_pack_file_fails_the_check_and_the_drill_loudly(repo, tmp_path):
    tree = make_tree(tmp_path / "app", files=5, size=400_000)
    sources = [{"kind": "path", "paths": [str(tree)]}]
    result = engine.run_backup(repo, sources, tags=[])
    pack = _largest_pack(repo)
    os.chmod(pack, 0o600)
    with open(pack, "r+b") as handle:
        handle.seek(os.path.getsize(pack) // 3)
        handle.write(os.urandom(4096))
    check = engine.check(repo, read_data_subset="100%")
    assert not check.ok
    pack_id = os.path.basename(pack)
    assert any(pack_id[:8] in line for line in check.errors), check.output
    drill = engine.drill(repo, result.snapshots, sources, result.manifest)
    assert not drill.ok
    restore = drill.evidence[0]
    assert restore["ok"] is False
    assert restore["detail"].startswith("corrupt: The repository")
    assert "ciphertext verification failed" in restore["detail"]


def test_a_truncated_pack_file_fails_even_the_quick_check(repo, tmp_path):
    make_sqlite(tmp_path / "app.sqlite3", rows=5000)
    engine.run_backup(repo, [{"kind": "sqlite", "path": str(tmp_path / "app.sqlite3")}], tags=[])
    pack = _largest_pack(repo)
    os.chmod(pack, 0o600)
    os.truncate(pack, os.path.getsize(pack) // 2)
    check = engine.check(repo)
    assert not check.ok
    assert check.errors


@pytest.fixture
def small_disk(tmp_path):
    """Mount a 4 MiB tmpfs (needs root); skip when the mount is refused."""
    mountpoint = tmp_path / "small"
    mountpoint.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mountpoint)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill up: {done.stderr.strip() or 'mount refused'}")
    yield mountpoint
    subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def test_a_full_disk_is_a_clear_error(small_disk, template_repo, tmp_path):
    import shutil

    shutil.copytree(template_repo, small_disk / "repo")
    spec = engine.RepoSpec(location=str(small_disk / "repo"), password=repo_password())
    data = tmp_path / "data"
    data.mkdir()
    (data / "random.bin").write_bytes(os.urandom(12 << 20))
    with pytest.raises(BackupError) as caught:
        engine.run_backup(spec, [{"kind": "path", "paths": [str(data)]}], tags=[])
    assert caught.value.kind == "disk-full"
    assert "is full" in caught.value.message


def repo_password():
    from test_restic_support import PASSWORD

    return PASSWORD
