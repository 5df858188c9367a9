"""Restore drills: restore into a sandbox, verify against the manifest, keep the evidence, clean up."""

import copy
import os
import re
import shutil

import pytest
from test_restic_support import (
    MYSQL_ADMIN,
    PASSWORD,
    POSTGRES_ADMIN,
    drop_mysql_db,
    drop_postgres_db,
    make_mysql_db,
    make_postgres_db,
    make_sqlite,
    make_tree,
    scratch_databases_left,
)

from keepwell.backups import engine

pytest_plugins = ("test_restic_support",)

SCRATCH = {"postgres": POSTGRES_ADMIN, "mysql": MYSQL_ADMIN}


@pytest.fixture(scope="module")
def backed_up(template_repo, tmp_path_factory):
    """One backup run of files, a SQLite file, a PostgreSQL and a MariaDB database, shared by the drills."""
    root = tmp_path_factory.mktemp("drill")
    shutil.copytree(template_repo, root / "repo")
    spec = engine.RepoSpec(location=str(root / "repo"), password=PASSWORD)
    tree = make_tree(root / "app", files=25)
    sqlite_path = make_sqlite(root / "app.sqlite3", rows=80)
    postgres_url = make_postgres_db()
    mysql_url = make_mysql_db()
    sources = [
        {"kind": "path", "paths": [str(tree)]},
        {"kind": "sqlite", "path": str(sqlite_path)},
        {"kind": "postgres", "url": postgres_url},
        {"kind": "mysql", "url": mysql_url},
    ]
    result = engine.run_backup(spec, sources, tags=["drill"])
    yield {"spec": spec, "sources": sources, "result": result, "tree": tree}
    drop_postgres_db(postgres_url)
    drop_mysql_db(mysql_url)


def _only(backed_up, *indexes):
    """Return (snapshots, sources, manifest) for a subset of the sources, renumbered from 0."""
    result = backed_up["result"]
    snapshots, sources, entries = [], [], []
    for new, old in enumerate(indexes):
        snapshots.append({**result.snapshots[old], "source": new})
        sources.append(backed_up["sources"][old])
        entries.append({**copy.deepcopy(result.manifest["sources"][old]), "source": new})
    return snapshots, sources, {**result.manifest, "sources": entries}


def test_a_drill_restores_every_kind_of_source_and_verifies_it(backed_up):
    result = backed_up["result"]
    top = str(backed_up["tree"]).lstrip("/") + "/top.txt"
    command = (
        'echo "$KEEPWELL_RESTORE_PATH"; echo "$KEEPWELL_RESTORE_POSTGRES_URL $KEEPWELL_RESTORE_MYSQL_URL"; test -f "$KEEPWELL_RESTORE_PATH/source-0/'
        + top
        + '" && '
        'test -f "$KEEPWELL_RESTORE_PATH/source-1/app.sqlite3" && test -n "$KEEPWELL_RESTORE_POSTGRES_URL"'
    )
    progress = []
    drill = engine.drill(
        backed_up["spec"],
        result.snapshots,
        backed_up["sources"],
        result.manifest,
        verify_command=command,
        scratch=SCRATCH,
        progress=lambda fraction, message: progress.append((fraction, message)),
    )
    failed = [item for item in drill.evidence if not item["ok"]]
    assert drill.ok, failed
    assert drill.error is None
    checks = [item["check"] for item in drill.evidence]
    for expected in ("files", "sample checksums", "integrity_check", "row counts", "schema hash"):
        assert any(check.endswith(": " + expected) for check in checks), expected
    assert sum(check.endswith(": row counts") for check in checks) == 3
    assert "verification command" in checks
    assert 0 < drill.duration
    sandbox = next(i for i in drill.evidence if i["check"] == "verification command")["detail"].split(
        ": ", 1
    )[1]
    assert sandbox.startswith("/") and not os.path.exists(sandbox.splitlines()[0])
    made = set(re.findall(r"keepwell_drill_[0-9a-f]{12}", sandbox))
    assert len(made) == 2  # one PostgreSQL and one MySQL scratch database, both dropped
    assert not made & set(scratch_databases_left())
    assert progress[-1] == (1.0, "drill passed")


def test_a_failing_verification_command_fails_the_drill_with_its_output(backed_up):
    snapshots, sources, manifest = _only(backed_up, 1)
    drill = engine.drill(
        backed_up["spec"],
        snapshots,
        sources,
        manifest,
        verify_command="echo 'orders table empty' >&2; exit 3",
    )
    assert not drill.ok
    item = next(i for i in drill.evidence if i["check"] == "verification command")
    assert item == {"check": "verification command", "ok": False, "detail": "exit 3: orders table empty"}
    assert "verification command" in drill.error


def test_a_row_count_that_differs_from_the_manifest_fails_the_drill(backed_up):
    snapshots, sources, manifest = _only(backed_up, 1)
    manifest["sources"][0]["tables"]["customer"] = 81
    drill = engine.drill(backed_up["spec"], snapshots, sources, manifest)
    assert not drill.ok
    item = next(i for i in drill.evidence if i["check"].endswith("row counts"))
    assert "customer: 81 expected, 80 restored" in item["detail"]


def test_a_schema_that_differs_from_the_manifest_fails_the_drill(backed_up):
    snapshots, sources, manifest = _only(backed_up, 1)
    manifest["sources"][0]["schema_hash"] = "sha256:" + "0" * 64
    drill = engine.drill(backed_up["spec"], snapshots, sources, manifest)
    assert not drill.ok
    assert "schema hash" in drill.error


def test_a_sample_checksum_that_differs_fails_the_drill(backed_up):
    snapshots, sources, manifest = _only(backed_up, 0)
    sample = manifest["sources"][0]["samples"][0]
    sample["sha256"] = "f" * 64
    drill = engine.drill(backed_up["spec"], snapshots, sources, manifest, sample_files=3)
    assert not drill.ok
    item = next(i for i in drill.evidence if i["check"].endswith("sample checksums"))
    assert item["detail"] == f"1 of 3 sampled files wrong: {sample['path']} differs"


def test_a_database_drill_without_a_scratch_server_fails_and_says_what_to_configure(backed_up):
    snapshots, sources, manifest = _only(backed_up, 2)
    drill = engine.drill(backed_up["spec"], snapshots, sources, manifest)
    assert not drill.ok
    assert "No scratch PostgreSQL server is configured" in drill.error


def test_a_drill_without_a_snapshot_for_a_source_fails(backed_up):
    snapshots, sources, manifest = _only(backed_up, 1)
    drill = engine.drill(backed_up["spec"], [], sources, manifest)
    assert not drill.ok
    assert "no snapshot for source 0" in drill.error


def test_a_drill_against_a_wrong_password_fails_with_its_kind(backed_up):
    snapshots, sources, manifest = _only(backed_up, 1)
    wrong = engine.RepoSpec(location=backed_up["spec"].location, password="wrong")
    drill = engine.drill(wrong, snapshots, sources, manifest)
    assert not drill.ok
    assert drill.evidence[0]["detail"].startswith("wrong-password: ")


def test_the_verification_command_gets_no_secrets_from_the_hub(backed_up, monkeypatch):
    monkeypatch.setenv("KEEPWELL_SECRET_KEY", "hub secret")
    monkeypatch.setenv("RESTIC_PASSWORD", "hub restic password")
    snapshots, sources, manifest = _only(backed_up, 1)
    drill = engine.drill(
        backed_up["spec"], snapshots, sources, manifest, verify_command="env | sort; yes | head -c 3000000"
    )
    item = next(i for i in drill.evidence if i["check"] == "verification command")
    assert item["ok"], item
    assert "hub secret" not in item["detail"] and "hub restic password" not in item["detail"]
    assert len(item["detail"]) < 2100


def test_a_verification_command_that_hangs_is_stopped(backed_up, monkeypatch):
    from keepwell.backups import drill as drill_module

    monkeypatch.setattr(drill_module, "VERIFY_TIMEOUT", 1)
    snapshots, sources, manifest = _only(backed_up, 1)
    drill = engine.drill(backed_up["spec"], snapshots, sources, manifest, verify_command="sleep 30 & wait")
    assert not drill.ok
    assert drill.error == "verification command: did not finish within 1 s"


def test_a_drill_without_a_manifest_says_so(backed_up):
    snapshots, sources, _ = _only(backed_up, 1)
    drill = engine.drill(backed_up["spec"], snapshots, sources, {})
    assert not drill.ok
    assert drill.evidence[0]["check"].endswith(": manifest")
    assert "recorded no manifest" in drill.error
