"""The secrets scanner on real git repositories: what it finds in the tree and in history, and what it never keeps."""

import json
import os

import pytest
from security_repos import AWS_KEY_ID, HEX_TOKEN, PLAINTEXTS, REMOVED_TOKEN, git, make_repo

from keepwell.security import secrets


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "shop")


def _types(report, filename):
    return {s.type for s in report.secrets if s.filename == filename}


def test_the_tree_scan_finds_aws_keys_private_keys_and_high_entropy_strings(repo):
    report = secrets.scan(repo)
    assert "AWS Access Key" in _types(report, "config.py")
    assert "Private Key" in _types(report, "id_rsa")
    assert "Hex High Entropy String" in _types(report, "tokens.py")
    assert not _types(report, "README.md")
    assert report.files_scanned == 4


def test_the_tree_scan_does_not_find_a_secret_removed_in_a_later_commit(repo):
    assert not _types(secrets.scan(repo), "old.py")


def test_the_history_scan_finds_the_removed_secret_and_names_the_commit_that_added_it(repo):
    first = git(repo, "rev-list", "--max-parents=0", "HEAD")
    report = secrets.scan(repo, history=True)
    removed = [s for s in report.secrets if s.filename == "old.py"]
    assert removed and all(not s.in_tree and s.commit == first for s in removed)
    assert report.commits_scanned == 2
    # A secret still in the tree keeps its place, and learns its commit.
    aws = [s for s in report.secrets if s.filename == "config.py" and s.line == 1]
    assert aws[0].in_tree and aws[0].commit == first


def test_no_secret_value_appears_in_anything_the_scanner_returns(repo):
    report = secrets.scan(repo, history=True)
    text = json.dumps([s.as_dict() for s in report.secrets + report.accepted])
    for value in PLAINTEXTS:
        assert value not in text
    assert any(s.hint.startswith("AKIA") for s in report.secrets)


def test_the_hint_shows_at_most_four_characters():
    assert secrets.mask(AWS_KEY_ID) == "AKIA•••• (20 characters)"
    assert secrets.mask("hunter2") == "•••• (7 characters)"
    assert secrets.mask(None) == "••••"


def test_the_repositorys_baseline_accepts_what_it_lists(repo):
    report = secrets.scan(repo)
    listed = [s for s in report.secrets if s.filename == "tokens.py"]
    baseline = {
        "version": "1.5.0",
        "plugins_used": [
            {"name": "HexHighEntropyString", "limit": 3.0},
            {"name": "AWSKeyDetector"},
            {"name": "PrivateKeyDetector"},
        ],  # fmt: skip
        "filters_used": [],
        "results": {
            "tokens.py": [
                {
                    "type": s.type,
                    "filename": "tokens.py",
                    "hashed_secret": s.hashed_secret,
                    "is_verified": False,
                    "line_number": s.line,
                }
                for s in listed
            ]
        },  # fmt: skip
    }
    (repo / ".secrets.baseline").write_text(json.dumps(baseline))
    again = secrets.scan(repo)
    assert not _types(again, "tokens.py")
    assert {s.filename for s in again.accepted} == {"tokens.py"}
    assert _types(again, "config.py")  # the rest is still reported


def test_a_baseline_entry_audited_as_a_real_secret_stays_reported(repo):
    listed = [s for s in secrets.scan(repo).secrets if s.filename == "tokens.py"]
    results = {
        "tokens.py": [{"type": s.type, "hashed_secret": s.hashed_secret, "is_secret": True} for s in listed]
    }
    (repo / ".secrets.baseline").write_text(json.dumps({"results": results}))
    assert _types(secrets.scan(repo), "tokens.py")


def test_a_baseline_cannot_make_the_hub_run_code_from_the_repository(repo, tmp_path):
    marker = tmp_path / "ran"
    (repo / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    baseline = {
        "plugins_used": [{"name": "Evil", "path": f"file://{repo / 'evil.py'}"}, {"name": "AWSKeyDetector"}],
        "filters_used": [{"path": f"file://{repo / 'evil.py'}::run"}],
        "results": {},
    }
    (repo / ".secrets.baseline").write_text(json.dumps(baseline))
    report = secrets.scan(repo)
    assert not marker.exists()
    assert _types(report, "config.py") == {"AWS Access Key"}  # only the plugins the baseline names


@pytest.mark.parametrize("content", ["{not json", "[]", '{"results": []}', "\x00\x01"])
def test_a_malformed_baseline_is_refused_with_a_clear_error(repo, content):
    (repo / ".secrets.baseline").write_text(content)
    with pytest.raises(secrets.ScanError, match=r"\.secrets\.baseline"):
        secrets.scan(repo)


def test_a_huge_file_is_skipped_and_counted(repo, monkeypatch):
    monkeypatch.setattr(secrets, "MAX_FILE_BYTES", 1000)
    (repo / "dump.sql").write_text(f"-- {HEX_TOKEN}\n" + "x" * 2000)
    git(repo, "add", "dump.sql")
    report = secrets.scan(repo)
    assert report.files_skipped == 1
    assert not _types(report, "dump.sql")


def test_a_link_pointing_outside_the_repository_is_not_followed(repo, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text(f'password = "{REMOVED_TOKEN}"\n')
    os.symlink(outside, repo / "link.txt")
    git(repo, "add", "link.txt")
    assert not _types(secrets.scan(repo), "link.txt")


def test_a_folder_without_git_is_scanned_file_by_file_but_has_no_history(tmp_path):
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "settings.py").write_text(f'AWS = "{AWS_KEY_ID}"\n')
    assert _types(secrets.scan(tmp_path / "plain"), "settings.py") == {"AWS Access Key"}
    with pytest.raises(secrets.ScanError, match="not a git repository"):
        secrets.scan(tmp_path / "plain", history=True)


def test_a_missing_path_is_refused_with_a_clear_error(tmp_path):
    with pytest.raises(secrets.ScanError, match="is not a directory"):
        secrets.scan(tmp_path / "nope")


def test_binary_files_and_hostile_lines_do_not_break_the_scan(repo):
    (repo / "blob.bin").write_bytes(os.urandom(4096))
    (repo / "long.txt").write_text(
        "a" * 500_000 + "\n" + "é\udcff".encode("utf-8", "surrogateescape").decode("latin-1")
    )
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "binary")
    report = secrets.scan(repo, history=True)
    assert report.commits_scanned == 3


def test_a_baseline_with_unknown_plugins_or_bad_options_is_explained_not_crashed(repo):
    baseline = {
        "plugins_used": [{"name": "NoSuchPlugin"}, {"name": "AWSKeyDetector", "limit": "abc"}],
        "results": {},
    }
    (repo / ".secrets.baseline").write_text(json.dumps(baseline))
    with pytest.raises(secrets.ScanError, match=r"plugin settings in \.secrets\.baseline are not valid"):
        secrets.scan(repo)
    (repo / ".secrets.baseline").unlink()
    assert _types(secrets.scan(repo), "config.py")  # detect-secrets' settings were restored


def test_a_huge_commit_in_history_is_skipped_and_counted(repo, monkeypatch):
    monkeypatch.setattr(secrets, "MAX_DIFF_BYTES", 2000)
    (repo / "data.txt").write_text(f"token = {REMOVED_TOKEN}\n" + "y\n" * 5000)
    git(repo, "add", "data.txt")
    git(repo, "commit", "-q", "-m", "big")
    report = secrets.scan(repo, history=True)
    assert (report.commits_scanned, report.commits_skipped) == (3, 1)
    assert _types(report, "old.py")  # the small commits are still scanned
