"""Building and reading the local OSV index: streaming, atomic replacement, and hostile input."""

import io
import json
import os
import sqlite3
import zipfile

import pytest
from osv_data import NPM_ADVISORIES, PYPI_EXPORT, needs_pypi_export

from keepwell.security.osv import NPM, PYPI, Database, OsvError, build, parse
from keepwell.security.osv.records import InvalidRecord
from keepwell.security.osv.store import MAX_RECORD_BYTES


def record(ident="GHSA-aaaa-bbbb-cccc", name="left-pad", ecosystem=NPM, **extra):
    return {
        "id": ident,
        "modified": "2026-01-01T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.0"}]}],
            }
        ],
        **extra,
    }


def make_zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data if isinstance(data, bytes | str) else json.dumps(data))
    return path


def test_it_builds_an_index_file_that_readers_open_read_only(tmp_path):
    index = tmp_path / "osv" / "osv.sqlite3"
    stats = build([NPM_ADVISORIES], index)
    assert stats.advisories == 11 and stats.withdrawn == 1 and stats.skipped == 0
    db = Database.open(index)
    assert db.count() == 11
    assert db.meta()["ecosystems"] == "PyPI,npm"
    assert set(db.lookup(NPM, ["kw-evil", "KW-Last", "nothing"])) == {"kw-evil", "kw-last"}
    with pytest.raises(sqlite3.OperationalError):
        db.conn.execute("DELETE FROM advisory")
    db.close()
    assert oct(index.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in index.parent.iterdir()] == ["osv.sqlite3"]  # no temporary file left behind


def test_a_rebuild_replaces_the_index_atomically_under_an_open_reader(tmp_path):
    index = tmp_path / "osv.sqlite3"
    build([make_zip(tmp_path / "a.zip", {"a.json": record("GHSA-old0-0000-0000")})], index)
    reader = Database.open(index)
    build([make_zip(tmp_path / "b.zip", {"b.json": record("GHSA-new0-0000-0000")})], index)
    # The reader that was open keeps its consistent (old) view; a new one sees the new index.
    assert [r.id for r in reader.lookup(NPM, ["left-pad"])["left-pad"]] == ["GHSA-old0-0000-0000"]
    fresh = Database.open(index)
    assert [r.id for r in fresh.lookup(NPM, ["left-pad"])["left-pad"]] == ["GHSA-new0-0000-0000"]
    reader.close()
    fresh.close()


def test_a_failed_build_leaves_the_previous_index(tmp_path):
    index = tmp_path / "osv.sqlite3"
    build([NPM_ADVISORIES], index)
    before = index.read_bytes()
    with pytest.raises(OsvError, match="No advisory"):
        build([make_zip(tmp_path / "junk.zip", {"x.json": "not json"})], index)
    assert index.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.zip", "osv.sqlite3"]


def test_the_newest_copy_of_a_record_found_twice_wins(tmp_path):
    old = record("GHSA-dupe-0000-0000", modified="2025-01-01T00:00:00Z")
    new = record("GHSA-dupe-0000-0000", name="right-pad", modified="2026-06-01T00:00:00Z")
    db, stats = Database.from_sources([make_zip(tmp_path / "a.zip", {"1.json": old, "2.json": new})])
    assert stats.advisories == 1
    assert db.lookup(NPM, ["left-pad"]) == {}
    assert "right-pad" in db.lookup(NPM, ["right-pad"])


def test_only_supported_ecosystems_are_kept(tmp_path):
    db, stats = Database.from_sources(
        [
            make_zip(
                tmp_path / "a.zip",
                {"go.json": record("GO-2026-0001", name="golang.org/x/net", ecosystem="Go")},
            )
        ]
    )
    assert stats.advisories == 0 and db.count() == 0


@pytest.mark.parametrize(
    "member, problem",
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2, 3]", "JSON object"),
        (b'"a string"', "JSON object"),
        (json.dumps({"modified": "x"}).encode(), "id must be"),
        (json.dumps({"id": "X" * 500, "affected": []}).encode(), "longer than"),
        (json.dumps({"id": "GHSA-x", "aliases": "CVE-1"}).encode(), "aliases must be a list"),
        (json.dumps({"id": "GHSA-x", "affected": {"a": 1}}).encode(), "affected must be a list"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        ("\ud800".encode("utf-8", "surrogatepass"), "not valid JSON"),
    ],
)
def test_unreadable_records_are_skipped_and_said(tmp_path, member, problem):
    good = record()
    db, stats = Database.from_sources([make_zip(tmp_path / "a.zip", {"bad.json": member, "good.json": good})])
    assert stats.advisories == 1 and stats.skipped == 1
    assert "bad.json" in stats.problems[0] and problem in stats.problems[0]


def test_malformed_affected_entries_are_left_out_not_fatal():
    advisory = parse(
        {
            "id": "GHSA-mixd-0000-0000",
            "affected": [
                "nonsense",
                {"package": "left-pad"},
                {"package": {"ecosystem": NPM, "name": ""}},
                {"package": {"ecosystem": NPM, "name": "ok"}, "ranges": "nope", "versions": {"1": 2}},
                {
                    "package": {"ecosystem": NPM, "name": "events"},
                    "ranges": [
                        {
                            "type": "SEMVER",
                            "events": [
                                {"introduced": "0", "fixed": "1.0.0"},
                                {"fixed": 5},
                                {"introduced": "1.0.0"},
                            ],
                        },
                        {"events": [{"introduced": "0"}]},
                    ],
                },
            ],
        }
    )
    assert [a.name for a in advisory.affected] == ["ok", "events"]
    assert advisory.affected[0].ranges == [] and advisory.affected[0].versions == []
    # An event with two kinds is invalid per the specification, and a non-string version too: both left out.
    assert advisory.affected[1].ranges == [["SEMVER", [["i", "1.0.0"]]]]


def test_records_that_are_not_objects_are_refused():
    with pytest.raises(InvalidRecord):
        parse([])
    assert parse({"id": "GHSA-gone", "withdrawn": "2026-01-01T00:00:00Z"}) is None


def test_huge_members_are_skipped_without_being_read(tmp_path):
    huge = b'{"id": "GHSA-huge", "details": "' + b"A" * (MAX_RECORD_BYTES + 10) + b'"}'
    db, stats = Database.from_sources(
        [make_zip(tmp_path / "a.zip", {"huge.json": huge, "good.json": record()})]
    )
    assert stats.advisories == 1 and stats.skipped == 1 and "larger than" in stats.problems[0]


def test_a_file_that_is_not_a_zip_is_refused_clearly(tmp_path):
    bad = tmp_path / "all.zip"
    bad.write_bytes(b"<html>Service Unavailable</html>")
    with pytest.raises(OsvError, match="not a readable zip file"):
        Database.from_sources([bad])
    with pytest.raises(OsvError, match="does not exist"):
        Database.from_sources([tmp_path / "missing.zip"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(OsvError, match="holds no .zip export"):
        Database.from_sources([tmp_path / "empty"])


def test_a_directory_of_exports_and_records_is_read(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    make_zip(folder / "npm-all.zip", {"a.json": record("GHSA-zip0-0000-0000")})
    (folder / "extra.json").write_text(json.dumps(record("GHSA-json-0000-0000", name="other")))
    db = Database.load(folder)
    assert db.count() == 2


def test_open_refuses_what_is_not_an_index(tmp_path):
    with pytest.raises(OsvError, match="cannot be read"):
        Database.open(tmp_path / "missing.sqlite3")
    text = tmp_path / "text.sqlite3"
    text.write_text("hello")
    with pytest.raises(OsvError, match="not a keepwell vulnerability index"):
        Database.open(text)
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(OsvError, match="not a keepwell vulnerability index"):
        Database.open(other)


def test_an_index_of_an_older_schema_asks_for_a_rebuild(tmp_path):
    index = tmp_path / "osv.sqlite3"
    build([NPM_ADVISORIES], index)
    conn = sqlite3.connect(index)
    conn.execute("UPDATE meta SET value = '0' WHERE key = 'schema'")
    conn.commit()
    conn.close()
    with pytest.raises(OsvError, match="keepwell security osv update"):
        Database.open(index)


def test_load_opens_an_index_file_as_is(tmp_path):
    index = tmp_path / "osv.sqlite3"
    build([NPM_ADVISORIES], index)
    db = Database.load(index)
    assert db.label == str(index) and db.count() == 11


def test_a_zip_given_as_a_file_object_is_streamed():
    buffer = io.BytesIO()
    make_zip(buffer, {"a.json": record()})
    buffer.seek(0)
    db, stats = Database.from_sources([buffer])
    assert stats.advisories == 1


@needs_pypi_export
def test_the_real_pypi_export_builds_quickly_into_a_small_file(tmp_path):
    index = tmp_path / "osv.sqlite3"
    stats = build([PYPI_EXPORT], index)
    assert stats.advisories > 2000 and stats.skipped == 0
    assert os.path.getsize(index) < 4 * PYPI_EXPORT.stat().st_size  # only what matching needs is kept
    db = Database.open(index)
    assert "django" in db.lookup(PYPI, ["Django"])


# --- The zip reader: exports as OSV and other tools write them --------------------------------------------


def test_zip64_archives_are_read(tmp_path, monkeypatch):
    """npm's export has more than 65,535 members, so its end records are ZIP64 ones."""
    monkeypatch.setattr(
        zipfile, "ZIP_FILECOUNT_LIMIT", 2
    )  # make zipfile write ZIP64 end records for 3 members
    path = make_zip(
        tmp_path / "a.zip", {f"{i}.json": record(f"GHSA-zip6-4000-{i:04d}", name=f"p{i}") for i in range(3)}
    )
    assert b"PK\x06\x06" in path.read_bytes()
    db, stats = Database.from_sources([path])
    assert stats.advisories == 3 and stats.skipped == 0


def test_stored_members_and_streamed_archives_with_data_descriptors_are_read(tmp_path):
    class Unseekable(io.RawIOBase):
        def __init__(self, target):
            self.target = target

        def writable(self):
            return True

        def write(self, data):
            return self.target.write(data)

    path = tmp_path / "streamed.zip"
    with open(path, "wb") as out, zipfile.ZipFile(Unseekable(out), "w") as z:
        z.writestr(
            zipfile.ZipInfo("a.json"),
            json.dumps(record("GHSA-stre-amed-0001")),
            compress_type=zipfile.ZIP_DEFLATED,
        )
        z.writestr(
            zipfile.ZipInfo("b.json"),
            json.dumps(record("GHSA-stor-ed00-0001", name="b")),
            compress_type=zipfile.ZIP_STORED,
        )
    db, stats = Database.from_sources([path])
    assert stats.advisories == 2 and stats.skipped == 0


def _patch_central_directory(data: bytes, *, crc=None, uncompressed=None) -> bytes:
    at = data.rfind(b"PK\x01\x02")
    patched = bytearray(data)
    if crc is not None:
        patched[at + 16 : at + 20] = crc.to_bytes(4, "little")
    if uncompressed is not None:
        patched[at + 24 : at + 28] = uncompressed.to_bytes(4, "little")
    return bytes(patched)


def test_a_member_that_inflates_beyond_its_declared_size_is_cut_off(tmp_path):
    """A zip bomb declares a small size; inflating stops at the limit instead of filling memory."""
    path = make_zip(tmp_path / "bomb.zip", {"bomb.json": b"[" + b" " * (MAX_RECORD_BYTES + 10) + b"]"})
    path.write_bytes(_patch_central_directory(path.read_bytes(), uncompressed=100))
    db, stats = Database.from_sources([path])
    assert stats.skipped == 1 and "larger than" in stats.problems[0]


def test_a_damaged_member_is_skipped_by_its_checksum(tmp_path):
    path = make_zip(tmp_path / "a.zip", {"a.json": record()})
    path.write_bytes(_patch_central_directory(path.read_bytes(), crc=12345))
    db, stats = Database.from_sources([path])
    assert stats.skipped == 1 and "checksum" in stats.problems[0]


def test_a_truncated_archive_is_refused(tmp_path):
    path = make_zip(tmp_path / "a.zip", {"a.json": record()})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(OsvError, match="not a readable zip file"):
        Database.from_sources([path])


def test_a_large_export_read_by_worker_processes_gives_the_same_index(tmp_path, monkeypatch):
    from keepwell.security.osv import store, zipstream

    members = {f"{i}.json": record(f"GHSA-{i:04d}-0000-0000", name=f"pkg-{i % 7}") for i in range(60)}
    members["0.json"]["aliases"] = ["CVE-1"]
    members["5.json"]["aliases"] = ["CVE-1"]
    members["dupe.json"] = record("GHSA-0003-0000-0000", name="newer", modified="2027-01-01T00:00:00Z")
    members["bad.json"] = b"{not json"
    members["gone.json"] = record("GHSA-gone-0000-0000", withdrawn="2026-01-01T00:00:00Z")
    members["notes.txt"] = b"not a record"
    path = make_zip(tmp_path / "big.zip", members)
    serial = build([path], tmp_path / "serial.sqlite3")
    monkeypatch.setattr(store, "PARALLEL_MIN_MEMBERS", 1)
    monkeypatch.setattr(zipstream, "_BATCH", 4)  # many batches, so that order across workers matters
    monkeypatch.setattr(store, "_workers", lambda: 2)
    # As from the CLI: the suite's process may have threads of earlier tests' servers still winding down.
    monkeypatch.setattr(store.threading, "active_count", lambda: 1)
    parallel = build([path], tmp_path / "parallel.sqlite3")
    assert parallel.parallel == 2 and serial.parallel == 0
    for field in ("records", "advisories", "withdrawn", "skipped", "problems"):
        assert getattr(parallel, field) == getattr(serial, field)
    dumps = []
    for name in ("serial", "parallel"):
        conn = sqlite3.connect(tmp_path / f"{name}.sqlite3")
        dumps.append([line for line in conn.iterdump() if "built_at" not in line])
        conn.close()
    assert dumps[0] == dumps[1]


def test_a_process_with_other_threads_builds_without_forking(tmp_path, monkeypatch):
    import threading

    from keepwell.security.osv import store

    members = {f"{i}.json": record(f"GHSA-{i:04d}-0000-0000", name=f"pkg-{i % 7}") for i in range(10)}
    path = make_zip(tmp_path / "big.zip", members)
    monkeypatch.setattr(store, "PARALLEL_MIN_MEMBERS", 1)
    monkeypatch.setattr(store, "_workers", lambda: 2)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)  # a job consumer's thread, say
    other.start()
    try:
        stats = build([path], tmp_path / "index.sqlite3")
    finally:
        stop.set()
        other.join()
    assert stats.parallel == 0 and stats.advisories == 10
