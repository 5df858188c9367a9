"""The local vulnerability index: OSV exports streamed into one SQLite file, keyed by (ecosystem, name).

Building reads one record at a time (a zip member, a JSON file) and keeps only what matching needs, so memory
stays flat whatever the export's size. The file is written beside its final place and renamed over it
(atomic on POSIX): every reader, in any worker, sees either the old index or the new one, never half of one.
Readers open it read-only and ask only for the packages they scan.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from . import zipstream
from .match import Record
from .records import InvalidRecord, parse
from .versions import ECOSYSTEMS, normalize_name

SCHEMA_VERSION = "1"
MAX_RECORD_BYTES = 8 * 2**20  # a member larger than this is not an OSV record (zip bombs stop here)
MAX_PROBLEMS_KEPT = 20
SQLITE_MAGIC = b"SQLite format 3\x00"
# A zip export with at least this many members is read, inflated and parsed by worker processes (one per core,
# at most MAX_WORKERS) while this process writes the index; smaller ones are read here.
PARALLEL_MIN_MEMBERS = 20_000
MAX_WORKERS = 4
WORKER_TIMEOUT = (
    300  # seconds for one batch (a few hundredths normally); a pool does not notice a killed worker
)

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE advisory (
    id TEXT PRIMARY KEY, aliases TEXT NOT NULL, summary TEXT NOT NULL, severity TEXT NOT NULL,
    score REAL, vector TEXT NOT NULL, published TEXT NOT NULL, modified TEXT NOT NULL
);
CREATE TABLE affected (ecosystem TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE alias_group (id TEXT PRIMARY KEY, grp TEXT NOT NULL) WITHOUT ROWID;
"""
_INDEXES = """
CREATE INDEX affected_package ON affected (ecosystem, name);
CREATE INDEX affected_id ON affected (id);
"""


class OsvError(Exception):
    """The vulnerability data cannot be read or written; the message says what to do."""


@dataclass
class BuildStats:
    records: int = 0  # JSON documents read
    advisories: int = 0  # kept (not withdrawn, affecting a supported ecosystem)
    withdrawn: int = 0
    skipped: int = 0  # unreadable or not OSV
    problems: list[str] = field(default_factory=list)  # the first few reasons for skipping
    seconds: float = 0.0
    parallel: int = 0  # worker processes that read the last large zip export (0: read in this process)

    def skip(self, where: str, why: str) -> None:
        self.skipped += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(f"{where}: {why}")


# --- Reading exports ----------------------------------------------------------------------------------


def _documents_in_zip(path_or_file, label: str, stats: BuildStats) -> Iterator[tuple[str, object]]:
    owned = not hasattr(path_or_file, "read")
    try:
        f = open(path_or_file, "rb") if owned else path_or_file  # noqa: SIM115
    except OSError as exc:
        raise OsvError(f"{label} cannot be read ({exc.strerror or exc}).") from None
    try:
        for name, data, problem in zipstream.members(f, MAX_RECORD_BYTES):
            if not name.endswith(".json"):
                continue
            where = f"{label}:{name}"
            if data is None:
                stats.skip(where, problem)
                continue
            yield where, data
    except (zipstream.ZipStreamError, OSError) as exc:
        raise OsvError(f"{label} is not a readable zip file ({exc}). Download the export again.") from None
    finally:
        if owned:
            f.close()


def _documents_in_json(path: Path, stats: BuildStats) -> Iterator[tuple[str, object]]:
    try:
        size = path.stat().st_size
        if size > MAX_RECORD_BYTES * 16:
            stats.skip(str(path), "too large for a JSON file of records")
            return
        data = path.read_bytes()
    except OSError as exc:
        stats.skip(str(path), f"cannot be read ({exc.strerror or exc})")
        return
    try:
        decoded = json.loads(data)
    except (ValueError, RecursionError) as exc:
        stats.skip(str(path), f"is not valid JSON ({exc})")
        return
    if isinstance(decoded, list):  # a list of records is accepted too (hand-written fixtures)
        for i, item in enumerate(decoded):
            yield f"{path}[{i}]", item
    else:
        yield str(path), decoded


def documents(sources: Iterable, stats: BuildStats) -> Iterator[tuple[str, object]]:
    """Yield (where, raw record) from zip exports, JSON files and directories of either, one at a time."""
    for source in sources:
        if hasattr(source, "read"):
            yield from _documents_in_zip(source, getattr(source, "name", "zip"), stats)
            continue
        path = Path(source)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".zip", ".json"))
            if not files:
                raise OsvError(f"{path} holds no .zip export and no .json record.")
            for file in files:
                yield from documents([file], stats)
        elif path.is_file():
            if path.suffix == ".json":
                yield from _documents_in_json(path, stats)
            else:
                yield from _documents_in_zip(path, str(path), stats)
        else:
            raise OsvError(
                f"{path} does not exist. Give an OSV export (all.zip), a directory of them or of .json records."
            )


# What reading one document gives _fill: a tuple whose first item says which case it is.
_KEPT, _EMPTY, _WITHDRAWN, _INVALID, _UNREADABLE = range(5)


def _digest(name: str, raw, ecosystems) -> tuple:
    """Return what the index keeps of one document (raw JSON bytes or decoded), as a small picklable tuple.

    (_KEPT, advisory row, aliases, affected rows) | (_EMPTY,) | (_WITHDRAWN,) | (_INVALID, name, why)
    """
    try:
        if isinstance(raw, bytes):
            raw = orjson.loads(raw)
        advisory = parse(raw, ecosystems)
    except (ValueError, RecursionError, orjson.JSONDecodeError) as exc:
        return (_INVALID, name, str(exc) if isinstance(exc, InvalidRecord) else f"is not valid JSON ({exc})")
    if advisory is None:
        return (_WITHDRAWN,)
    if not advisory.affected:
        return (_EMPTY,)
    ident = advisory.id
    rating = advisory.rating
    row = (
        ident,
        orjson.dumps(advisory.aliases).decode(),
        advisory.summary,
        rating.severity,
        rating.score,
        rating.vector,
        advisory.published,
        advisory.modified,
    )
    affected_rows = [
        (a.ecosystem, a.name, ident, orjson.dumps(a.compact()).decode()) for a in advisory.affected
    ]
    return (_KEPT, row, advisory.aliases, affected_rows)


_worker_files: dict[str, object] = {}


def _digest_members(path: str, batch: list[tuple], ecosystems) -> list[tuple]:
    """In a worker process: read, inflate and digest the zip members of `batch` (a slice of the directory)."""
    f = _worker_files.get(path)
    if f is None:
        f = _worker_files[path] = open(path, "rb")  # noqa: SIM115 (kept open for the worker's next batches)
    results = []
    for name, data, problem in zipstream.read(f, batch, MAX_RECORD_BYTES):
        if not name.endswith(".json"):
            continue
        where = f"{path}:{name}"
        results.append((_UNREADABLE, where, problem) if data is None else _digest(where, data, ecosystems))
    return results


def _workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return min(cores, MAX_WORKERS) if cores > 1 else 0


def _zip_in_parallel(path: Path, ecosystems, stats: BuildStats) -> Iterator[tuple]:
    """Yield the digests of the members of the zip at `path`, in archive order, read by worker processes.

    Only a few batches are in flight at a time, so memory stays flat. Yield nothing (the caller reads the zip
    itself) when the archive is small, the machine has one core, or worker processes cannot be started.
    """
    workers = _workers()
    if not workers:
        return
    label = str(path)
    try:
        f = open(path, "rb")  # noqa: SIM115
    except OSError:
        return  # the serial reader reports it
    with f:
        try:
            if zipstream.entry_count(f) < PARALLEL_MIN_MEMBERS:
                return
        except zipstream.ZipStreamError:
            return  # the serial reader reports it
        # fork, not spawn: spawn would re-run the caller's main module in each worker. The workers only read the
        # zip and parse JSON, and take no lock another thread of this process could hold.
        # And only from a single-threaded process (the CLI): a fork while another thread holds a lock (a job
        # consumer's logging, say) can leave the child waiting on it for ever. The hub's jobs build serially.
        if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
            return
        try:
            pool = multiprocessing.get_context("fork").Pool(workers)
        except (OSError, ValueError):
            return
        stats.parallel = workers
        try:
            pending: deque = deque()

            def submit(batch):
                pending.append(pool.apply_async(_digest_members, (label, batch, ecosystems)))

            for batch in zipstream.entries(f):
                submit(batch)
                if len(pending) > 2 * workers:
                    yield from pending.popleft().get(WORKER_TIMEOUT)
            while pending:
                yield from pending.popleft().get(WORKER_TIMEOUT)
        except multiprocessing.TimeoutError:
            raise OsvError(
                f"A worker process reading {label} stopped answering (killed, or out of memory?). Try again."
            ) from None
        except (zipstream.ZipStreamError, OSError) as exc:
            raise OsvError(
                f"{label} is not a readable zip file ({exc}). Download the export again."
            ) from None
        finally:
            pool.terminate()
            pool.join()


def _leaves(sources) -> Iterator:
    """Yield each file-like object, .json file and zip export in `sources`, directories walked, in order."""
    for source in sources:
        if hasattr(source, "read"):
            yield source
            continue
        path = Path(source)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".zip", ".json"))
            if not files:
                raise OsvError(f"{path} holds no .zip export and no .json record.")
            yield from files
        elif path.is_file():
            yield path
        else:
            raise OsvError(
                f"{path} does not exist. Give an OSV export (all.zip), a directory of them or of .json records."
            )


def _digests(sources, ecosystems, stats: BuildStats) -> Iterator[tuple]:
    """Yield the digest of every document in `sources`, in order; large zip exports are read in parallel."""
    for leaf in _leaves(sources):
        if isinstance(leaf, Path) and leaf.suffix != ".json":
            started = False
            for digest in _zip_in_parallel(leaf, ecosystems, stats):
                started = True
                yield digest
            if started:
                continue
        for where, raw in documents([leaf], stats):
            yield _digest(where, raw, ecosystems)


# --- Building -----------------------------------------------------------------------------------------


class _Groups:
    """Union-find over advisory ids and their aliases: records that share an alias, even through others, unite."""

    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra


def _script(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would commit the open transaction first; run the statements one by one instead.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _fill(conn: sqlite3.Connection, sources, ecosystems, stats: BuildStats, progress=None) -> None:
    _script(conn, _SCHEMA)
    groups = _Groups()
    seen: dict[str, str] = {}  # id -> modified, to keep the newest copy of a record found twice
    advisory_rows, affected_rows = [], []

    def flush():
        conn.executemany("INSERT OR REPLACE INTO advisory VALUES (?,?,?,?,?,?,?,?)", advisory_rows)
        conn.executemany("INSERT INTO affected VALUES (?,?,?,?)", affected_rows)
        advisory_rows.clear()
        affected_rows.clear()

    for digest in _digests(sources, ecosystems, stats):
        kind = digest[0]
        if kind == _UNREADABLE:
            stats.skip(digest[1], digest[2])
            continue
        stats.records += 1
        if progress is not None and stats.records % 1000 == 0:
            progress(stats.records)
        if kind != _KEPT:
            if kind == _WITHDRAWN:
                stats.withdrawn += 1
            elif kind == _INVALID:
                stats.skip(digest[1], digest[2])
            continue
        _, row, aliases, rows = digest
        ident, modified = row[0], row[7]
        previous = seen.get(ident)
        if previous is not None:
            if modified <= previous:
                continue
            flush()
            conn.execute("DELETE FROM affected WHERE id = ?", (ident,))
        else:
            stats.advisories += 1
        seen[ident] = modified
        for alias in aliases:
            groups.union(ident, alias)
        advisory_rows.append(row)
        affected_rows.extend(rows)
        if len(advisory_rows) >= 5000:
            flush()
    flush()
    # Only members of a group whose representative is another name need a row; the rest are their own group.
    rows = [(ident, root) for ident in seen if (root := groups.find(ident)) != ident]
    conn.executemany("INSERT INTO alias_group VALUES (?,?)", rows)
    _script(conn, _INDEXES)
    meta = {
        "schema": SCHEMA_VERSION,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "advisories": str(stats.advisories),
        "withdrawn": str(stats.withdrawn),
        "skipped": str(stats.skipped),
        "ecosystems": ",".join(ecosystems),
        "sources": json.dumps([str(getattr(s, "name", s)) for s in sources]),
    }
    conn.executemany("INSERT INTO meta VALUES (?,?)", meta.items())


def build(
    sources, path, *, ecosystems=ECOSYSTEMS, progress: Callable[[int], None] | None = None
) -> BuildStats:
    """Build the index at `path` from `sources` (zip exports, JSON records, directories); replace it atomically."""
    sources = list(sources)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stats = BuildStats()
    started = time.perf_counter()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("BEGIN")
            _fill(conn, sources, tuple(ecosystems), stats, progress)
            conn.execute("COMMIT")
        finally:
            conn.close()
        if stats.advisories == 0:
            raise OsvError(
                f"No advisory for {', '.join(ecosystems)} was found in {', '.join(map(str, sources))}"
                + (
                    f" ({stats.skipped} documents could not be read, e.g. {stats.problems[0]})"
                    if stats.problems
                    else ""
                )
                + ". Give an OSV export such as PyPI/all.zip; the index was left as it was."
            )
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    stats.seconds = time.perf_counter() - started
    return stats


# --- Reading the index --------------------------------------------------------------------------------


class Database:
    """A read-only view of an index; lookups return matching Records for the packages asked about."""

    def __init__(self, conn: sqlite3.Connection, label: str):
        self.conn = conn
        self.label = label

    @classmethod
    def open(cls, path) -> Database:
        """Open the index file at `path` read-only; raise OsvError when it is missing or not an index."""
        path = Path(path)
        try:
            with open(path, "rb") as f:
                magic = f.read(16)
        except OSError as exc:
            raise OsvError(
                f"The vulnerability index {path} cannot be read ({exc.strerror or exc})."
            ) from None
        if magic != SQLITE_MAGIC:
            raise OsvError(f"{path} is not a keepwell vulnerability index.")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        db = cls(conn, str(path))
        try:
            schema = db.meta().get("schema")
        except sqlite3.DatabaseError:
            conn.close()
            raise OsvError(f"{path} is not a keepwell vulnerability index.") from None
        if schema != SCHEMA_VERSION:
            conn.close()
            raise OsvError(
                f"{path} was built by another version of keepwell. Rebuild it: keepwell security osv update."
            )
        return db

    @classmethod
    def from_sources(cls, sources, *, ecosystems=ECOSYSTEMS, progress=None) -> tuple[Database, BuildStats]:
        """Build an index in memory from `sources` (for a one-off scan with --osv)."""
        sources = list(sources)
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        stats = BuildStats()
        started = time.perf_counter()
        conn.execute("BEGIN")
        _fill(conn, sources, tuple(ecosystems), stats, progress)
        conn.execute("COMMIT")
        stats.seconds = time.perf_counter() - started
        return cls(conn, ", ".join(map(str, sources))), stats

    @classmethod
    def load(cls, source, progress=None) -> Database:
        """Open `source`: an index file as is, else build one in memory from the export(s) it names."""
        path = Path(source)
        if path.is_file():
            with open(path, "rb") as f:
                if f.read(16) == SQLITE_MAGIC:
                    return cls.open(path)
        db, stats = cls.from_sources([path], progress=progress)
        if stats.advisories == 0:
            raise OsvError(
                f"No PyPI or npm advisory was found in {path}"
                + (
                    f" ({stats.skipped} documents could not be read, e.g. {stats.problems[0]})"
                    if stats.problems
                    else ""
                )
                + ". Give an OSV export (all.zip), a directory of them, or OSV .json records."
            )
        return db

    def close(self) -> None:
        self.conn.close()

    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta"))

    def count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM advisory").fetchone()[0]

    def lookup(self, ecosystem: str, names: Iterable[str]) -> dict[str, list[Record]]:
        """Return {normalized name: [Record, ...]} for the packages `names` of `ecosystem` that have advisories."""
        wanted = sorted({normalize_name(ecosystem, n) for n in names})
        found: dict[str, dict[str, list]] = {}
        rows_by_id: dict[str, tuple] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for name, ident, data in self.conn.execute(
                f"SELECT name, id, data FROM affected WHERE ecosystem = ? AND name IN ({marks})",  # noqa: S608
                (ecosystem, *chunk),
            ):
                found.setdefault(name, {}).setdefault(ident, []).append(orjson.loads(data))
        ids = sorted({i for per in found.values() for i in per})
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                "SELECT a.id, coalesce(g.grp, a.id), a.aliases, a.summary, a.severity, a.score, a.vector, "  # noqa: S608
                f"a.published, a.modified FROM advisory a LEFT JOIN alias_group g ON g.id = a.id WHERE a.id IN ({marks})",
                chunk,
            ):
                rows_by_id[row[0]] = row
        result: dict[str, list[Record]] = {}
        for name, per in found.items():
            records = []
            for ident, entries in per.items():
                row = rows_by_id[ident]
                records.append(
                    Record(
                        id=row[0],
                        group=row[1],
                        aliases=tuple(orjson.loads(row[2])),
                        summary=row[3],
                        severity=row[4],
                        score=row[5],
                        vector=row[6],
                        published=row[7],
                        modified=row[8],
                        entries=tuple(entries),
                    )
                )
            result[name] = records
        return result
