"""restic itself: version and features, the environment, its JSON, and its errors in plain words."""

import os

import pytest
from test_restic_support import PASSWORD

from keepwell.backups import engine
from keepwell.backups import restic as restic_module
from keepwell.backups.restic import BackupError, classify, features_for, json_lines, parse_version

pytest_plugins = ("test_restic_support",)


def test_it_parses_restic_version_output():
    """The version comes from `restic version`, whatever follows it."""
    assert parse_version("restic 0.14.0 compiled with go1.19.8 on linux/amd64") == (0, 14, 0)
    assert parse_version("restic 0.17.3 compiled with go1.23.3 on linux/arm64\n") == (0, 17, 3)


@pytest.mark.parametrize("text", ["", "rustic 0.14.0", "restic x.y.z", "restic 0.14", "\x00" * 10_000])
def test_it_rejects_output_that_is_not_a_restic_version(text):
    with pytest.raises(ValueError, match="not restic version output"):
        parse_version(text)


def test_restic_0_14_lacks_stdin_from_command_and_exit_codes():
    features = features_for((0, 14, 0))
    assert "json" in features
    assert "stdin-from-command" not in features
    assert "exit-codes" not in features
    assert {"stdin-from-command", "exit-codes", "restore-json"} <= features_for((0, 17, 0))


def test_it_detects_the_installed_restic():
    info = engine.restic_info()
    assert info.version_tuple >= (0, 14, 0)
    assert info.version == ".".join(map(str, info.version_tuple))
    assert "json" in info.features


def test_a_missing_restic_is_a_clear_error(tmp_path):
    with pytest.raises(BackupError) as caught:
        engine.restic_info(str(tmp_path / "no-such-restic"))
    assert caught.value.kind == "missing-restic"
    assert "apt install restic" in caught.value.message


def test_a_binary_that_is_not_restic_is_refused():
    with pytest.raises(BackupError) as caught:
        engine.restic_info("/bin/echo")
    assert caught.value.kind == "missing-restic"
    assert "did not answer like restic" in caught.value.message


def test_a_backup_with_a_missing_restic_fails_clearly(tmp_path):
    (tmp_path / "data").mkdir()
    spec = engine.RepoSpec(location=str(tmp_path / "repo"), password="x", restic=str(tmp_path / "restic"))
    with pytest.raises(BackupError) as caught:
        engine.run_backup(spec, [{"kind": "path", "paths": [str(tmp_path / "data")]}], tags=[])
    assert caught.value.kind == "missing-restic"


# restic 0.14's own words for each failure (captured from the real binary).
STDERR_0_14 = {
    "wrong-password": "Fatal: wrong password or no key found\n",
    "no-repository": "Fatal: unable to open config file: stat /srv/nope/config: no such file or directory\n"
    "Is there a repository at the following location?\n/srv/nope\n",
    "unreachable": 'Fatal: unable to open config file: client.Head: Head "http://127.0.0.1:1/config": dial tcp '
    "127.0.0.1:1: connect: connection refused\nIs there a repository at the following location?\n",
    "locked": "unable to create lock in backend: repository is already locked exclusively by PID 4242 on vm by "
    "root (UID 0, GID 0)\nlock was created at 2026-12-02 07:40:24 (1m3s ago)\nstorage ID 5c1e3b2a\n",
    "disk-full": "Fatal: unable to save snapshot: write /mnt/repo/data/ab/abcd: no space left on device\n",
    "corrupt": "pack 6e4f1d2c contains 1 errors: [blob 5d2a: decrypting blob failed: ciphertext verification "
    "failed]\nFatal: repository contains errors\n",
}


@pytest.mark.parametrize("kind", sorted(STDERR_0_14))
def test_it_maps_restic_errors_to_kinds(kind):
    error = classify(STDERR_0_14[kind], 1, location="/srv/repo")
    assert error.kind == kind
    assert error.message.endswith(".")  # a full sentence that says what to do
    assert error.output == STDERR_0_14[kind]


def test_the_lock_error_names_the_holder():
    error = classify(STDERR_0_14["locked"], 1)
    assert "PID 4242 on vm by root, created at 2026-12-02 07:40:24 (1m3s ago)" in error.message


def test_exit_codes_are_used_only_when_restic_has_them():
    info_017 = restic_module.ResticInfo("restic", "0.17.0", (0, 17, 0), features_for((0, 17, 0)))
    info_014 = restic_module.ResticInfo("restic", "0.14.0", (0, 14, 0), features_for((0, 14, 0)))
    assert classify("Fatal: something", 12, info=info_017).kind == "wrong-password"
    assert classify("Fatal: something", 10, info=info_017).kind == "no-repository"
    assert classify("Fatal: something", 11, info=info_017).kind == "locked"
    assert classify("Fatal: something", 12, info=info_014).kind == "failed"


def test_unknown_failures_keep_restic_s_last_words():
    error = classify("line one\n" + "x" * 5000 + "\nFatal: the real reason\n", 1)
    assert error.kind == "failed"
    assert error.message.endswith("Fatal: the real reason")
    assert len(error.message) < 700


def test_json_lines_skips_everything_that_is_not_a_json_object():
    stream = [
        b'{"message_type":"status","percent_done":0.5}\n',
        b"not json\n",
        b"[1, 2, 3]\n",
        b"{broken\n",
        b"\xff\xfe{\n",
        b"{" + b" " * (2 << 20) + b"}\n",
        b'{"message_type":"summary","snapshot_id":"abc"}\n',
    ]
    messages = list(json_lines(stream))
    assert [message["message_type"] for message in messages] == ["status", "summary"]


@pytest.mark.parametrize(
    "message",
    [{}, {"percent_done": "lots"}, {"percent_done": 7}, {"bytes_done": -5, "total_bytes": None}],
)
def test_status_messages_with_odd_values_still_describe_progress(message):
    fraction, text = restic_module.describe_status(message)
    assert fraction is None
    assert "files" in text


@pytest.mark.parametrize("subset", ["1/7", "5%", "2.5%", "500M", "1G"])
def test_it_accepts_read_data_subsets(subset):
    assert restic_module.validate_subset(subset) == subset


@pytest.mark.parametrize("subset", ["", "0/7", "8/7", "0%", "150%", "1/0", "--read-data", "5% ; rm -rf /"])
def test_it_refuses_bad_read_data_subsets(subset):
    with pytest.raises(ValueError, match="read_data_subset"):
        restic_module.validate_subset(subset)


def test_the_hub_s_own_restic_variables_never_leak_into_a_run(repo, monkeypatch, tmp_path):
    monkeypatch.setenv("RESTIC_REPOSITORY", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("RESTIC_PASSWORD_COMMAND", "echo wrong")
    env = restic_module.environment(repo)
    assert env["RESTIC_REPOSITORY"] == repo.location
    assert "RESTIC_PASSWORD_COMMAND" not in env
    assert engine.list_snapshots(repo) == []


def test_init_creates_a_repository_once(tmp_path):
    spec = engine.RepoSpec(location=str(tmp_path / "new"), password=PASSWORD)
    assert engine.init_repository(spec) is True
    assert engine.init_repository(spec) is False
    assert (tmp_path / "new" / "config").exists()


def test_a_wrong_password_is_a_clear_error(repo):
    wrong = engine.RepoSpec(location=repo.location, password="not the password")
    with pytest.raises(BackupError) as caught:
        engine.list_snapshots(wrong)
    assert caught.value.kind == "wrong-password"
    assert "password is wrong" in caught.value.message
    with pytest.raises(BackupError) as caught:
        engine.init_repository(wrong)
    assert caught.value.kind == "wrong-password"


def test_a_missing_repository_is_a_clear_error(tmp_path):
    spec = engine.RepoSpec(location=str(tmp_path / "nothing-here"), password=PASSWORD)
    with pytest.raises(BackupError) as caught:
        engine.list_snapshots(spec)
    assert caught.value.kind == "no-repository"
    assert "Initialize it first" in caught.value.message


def test_an_unreachable_rest_server_is_a_clear_error():
    spec = engine.RepoSpec(location="rest:http://127.0.0.1:1/", password=PASSWORD)
    with pytest.raises(BackupError) as caught:
        engine.list_snapshots(spec)
    assert caught.value.kind == "unreachable"
    assert "connection refused" in caught.value.message


@pytest.mark.skipif(not os.path.exists("/usr/bin/ssh"), reason="the ssh client is not installed")
def test_an_sftp_host_that_refuses_is_a_clear_error():
    # restic starts ssh itself; port 1 has nothing listening.
    spec = engine.RepoSpec(location="sftp://nobody@127.0.0.1:1//srv/repo", password=PASSWORD)
    with pytest.raises(BackupError) as caught:
        engine.init_repository(spec)
    assert caught.value.kind == "unreachable"
    assert "could not reach" in caught.value.message


def test_stats_and_snapshots_come_from_restic_json(repo, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_bytes(b"hello " * 1000)
    result = engine.run_backup(repo, [{"kind": "path", "paths": [str(data)]}], tags=["plan-7"])
    snapshots = engine.list_snapshots(repo, tags=["plan-7"])
    assert [s["id"] for s in snapshots] == [result.snapshots[0]["id"]]
    assert engine.list_snapshots(repo, tags=["plan-8"]) == []
    stats = engine.repo_stats(repo)
    assert stats["snapshots"] == 1
    assert stats["total_size"] == 6000  # what the snapshot restores to
    assert 0 < stats["raw_size"] < 6000  # what the repository stores: compressed and deduplicated


def test_stderr_keeps_its_first_and_last_lines_whatever_its_size():
    """restic's final Fatal line survives megabytes of warnings before it."""
    import subprocess

    process = subprocess.Popen(
        [
            "/bin/sh",
            "-c",
            "echo first >&2; yes 'warning: cannot read file' | head -c 5000000 >&2; echo 'Fatal: the end' >&2",
        ],
        stderr=subprocess.PIPE,
    )
    drain = restic_module.Drain(process.stderr)
    drain.start()
    process.wait()
    text = drain.text()
    assert text.startswith("first")
    assert text.endswith("Fatal: the end")
    assert "[...]" in text
    assert len(text) < 1_200_000


def test_full_snapshot_ids_come_from_the_repository_whatever_its_spelling(repo, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("a")
    local = engine.RepoSpec(location="local:" + repo.location, password=PASSWORD)
    result = engine.run_backup(local, [{"kind": "path", "paths": [str(data)]}], tags=[])
    snapshot = result.snapshots[0]
    assert len(snapshot["id"]) == 64 and snapshot["id"].startswith(snapshot["short_id"])
    assert restic_module.full_snapshot_ids(repo, [snapshot["short_id"], "deadbeef"]) == {
        snapshot["short_id"]: snapshot["id"]
    }


@pytest.mark.parametrize(
    ("location", "path"),
    [
        ("/srv/repo", "/srv/repo"),
        ("local:/srv/repo", "/srv/repo"),
        ("sftp:host:/srv", None),
        ("s3:h/b", None),
    ],
)
def test_local_repositories_are_recognised(location, path):
    assert restic_module.local_path(location) == path
