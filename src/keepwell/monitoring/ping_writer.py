"""The ping writer: heartbeat pings stored in raw SQL, in group commits, by one thread per process.

Every ping waiting when the writer is free is committed in one transaction: three round trips per batch
instead of three per ping, and on SQLite one writer per process queues pings in memory instead of sleeping
in SQLite's busy handler. The state rules are schedules.apply_ping, the same as heartbeats.record_ping.
"""

import uuid as uuid_module
from concurrent.futures import Future
from datetime import UTC, datetime

from keepwell.core.group_commit import GroupCommitWriter

from . import schedules


class Fallback(Exception):
    """Let Django's view handle this ping (nothing was written)."""


def _when(value) -> datetime | None:
    """Return a stored datetime as an aware UTC datetime (SQLite hands back text)."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class _Sql:
    """The three statements of a ping, built once from the models' tables and columns."""

    def __init__(self, connection):
        from .models import Heartbeat, Ping

        hb, ping = Heartbeat._meta, Ping._meta
        self.hb_fields = {f.name: f for f in hb.concrete_fields}
        self.ping_fields = {f.name: f for f in ping.concrete_fields}
        q = connection.ops.quote_name
        col = lambda meta, name: q(meta.get_field(name).column)  # noqa: E731
        read = ["id", "uuid", "service", "status", "kind", "period", "grace", "schedule", "tz"]
        read += ["last_ping", "last_start", "alert_after", "n_pings"]
        self.read_names = read
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        self._select_head = (
            f"SELECT {', '.join(col(hb, n) for n in read)} FROM {q(hb.db_table)} WHERE {col(hb, 'uuid')} IN "
        )
        self._select_tail = f" ORDER BY {col(hb, 'uuid')}{lock}"
        self.select_rid = (
            f"SELECT {col(ping, 'created')} FROM {q(ping.db_table)} WHERE {col(ping, 'heartbeat')} = %s "
            f"AND {col(ping, 'kind')} = 'start' AND {col(ping, 'rid')} = %s ORDER BY {col(ping, 'n')} DESC LIMIT 1"
        )
        self.insert_names = ["heartbeat", "n", "created", "kind", "exit_status", "rid", "duration", "method"]
        self.insert_names += ["remote_addr", "user_agent", "body", "body_truncated"]
        self._insert_head = (
            f"INSERT INTO {q(ping.db_table)} ({', '.join(col(ping, n) for n in self.insert_names)}) VALUES "
        )
        self._insert_row = "(" + ", ".join(["%s"] * len(self.insert_names)) + ")"
        self.update_names = ["n_pings", "status", "last_ping", "last_start", "alert_after"]
        self.update = (
            f"UPDATE {q(hb.db_table)} SET {', '.join(col(hb, n) + ' = %s' for n in self.update_names)}, "
            f"{col(hb, 'last_duration')} = COALESCE(%s, {col(hb, 'last_duration')}) WHERE {col(hb, 'id')} = %s"
        )
        from keepwell.core.models import Finding

        fm = Finding._meta
        self.open_finding = (
            f"SELECT 1 FROM {q(fm.db_table)} WHERE {col(fm, 'service')} = %s AND {col(fm, 'source')} = 'monitoring' "
            f"AND {col(fm, 'key')} = %s AND {col(fm, 'state')} <> 'resolved'"
        )

    def insert_many(self, count: int) -> str:
        """Return one multi-row INSERT of `count` pings (one statement to parse, not `count`)."""
        return self._insert_head + ", ".join([self._insert_row] * count)

    def select_many(self, count: int) -> str:
        """Return the statement that reads (and on PostgreSQL locks) `count` heartbeats by UUID."""
        return self._select_head + "(" + ", ".join(["%s"] * count) + ")" + self._select_tail


_sql: _Sql | None = None  # built on first use, when the models are ready


def _sql_for(connection) -> _Sql:
    global _sql
    if _sql is None:
        _sql = _Sql(connection)
    return _sql


def record(request: dict, body: bytes, truncated: bool, now: datetime | None = None) -> datetime | None:
    """Store one ping in its own transaction; return the new deadline, or raise Fallback (nothing written)."""
    (result,) = record_batch([(request, body, truncated)], now)
    if isinstance(result, Fallback):
        raise result
    return result


def record_batch(items, now: datetime | None = None) -> list:
    """Store pings in one transaction (a group commit); return per ping its deadline or a Fallback.

    Three round trips per batch, not per ping: lock every heartbeat of the batch (in UUID order, so that
    processes never deadlock), apply the pings in memory in arrival order, insert the pings and update the
    heartbeats. A ping that falls back writes nothing, and neither do the later pings of its heartbeat in the
    batch (Django's view takes them). Nothing is answered before the commit returns.
    """
    from django.db import DatabaseError, connections, transaction

    connection = connections["default"]
    sql = _sql_for(connection)
    results: list = [Fallback() for _ in items]
    try:
        with transaction.atomic(), connection.cursor() as cur:
            _apply(cur, connection, sql, items, results, now)
    except DatabaseError:
        # A broken connection (a database restart): drop it; Django's view takes these pings.
        connection.close()
        return [Fallback() for _ in items]
    return results


def _apply(cur, connection, sql, items, results, now) -> None:
    hb_fields, ping_fields = sql.hb_fields, sql.ping_fields
    uuids = sorted({request["uuid"] for request, _, _ in items})
    cur.execute(
        sql.select_many(len(uuids)), [hb_fields["uuid"].get_db_prep_value(u, connection) for u in uuids]
    )
    beats = {}
    for row in cur.fetchall():
        hb = dict(zip(sql.read_names, row, strict=True))
        for name in ("last_ping", "last_start", "alert_after"):
            hb[name] = _when(hb[name])
        hb["duration"] = None
        beats[uuid_module.UUID(str(hb["uuid"]))] = hb
    fallen, starts, inserts = set(), {}, []
    for index, (request, body, truncated) in enumerate(items):
        hb = beats.get(request["uuid"])
        if hb is None or hb["id"] in fallen:
            continue
        when = now or datetime.now(UTC)
        rid, rid_start = request["rid"], None
        if rid is not None:
            rid_start = starts.get((hb["id"], rid))
            if rid_start is None:
                cur.execute(sql.select_rid, [hb["id"], ping_fields["rid"].get_db_prep_value(rid, connection)])
                found = cur.fetchone()
                rid_start = _when(found[0]) if found else None
        effect = schedules.apply_ping(
            ping_kind=request["kind"],
            exit_status=request["exit_status"],
            now=when,
            status=hb["status"],
            kind=hb["kind"],
            period=hb["period"],
            grace=hb["grace"],
            schedule=hb["schedule"],
            tz=hb["tz"],
            last_ping=hb["last_ping"],
            last_start=hb["last_start"],
            alert_after=hb["alert_after"],
            rid_given=rid is not None,
            rid_start=rid_start,
        )
        falls_back = effect.went_down
        if effect.came_up and not falls_back:
            cur.execute(sql.open_finding, [hb["service"], f"heartbeat:{request['uuid']}"])
            falls_back = cur.fetchone() is not None
        if falls_back:
            fallen.add(hb["id"])
            continue
        if effect.kind == "start" and rid is not None:
            starts[(hb["id"], rid)] = when
        hb["n_pings"] += 1
        values = {
            "n": hb["n_pings"],
            "created": when,
            "kind": effect.kind,
            "exit_status": request["exit_status"],
            "rid": rid,
            "duration": effect.duration,
            "method": request["method"],
            "remote_addr": request["remote_addr"],
            "user_agent": request["user_agent"],
            "body": body,
            "body_truncated": truncated,
        }
        inserts.append(
            [
                hb["id"] if n == "heartbeat" else ping_fields[n].get_db_prep_value(values[n], connection)
                for n in sql.insert_names
            ]
        )
        hb.update(
            status=effect.status,
            last_ping=effect.last_ping,
            last_start=effect.last_start,
            alert_after=effect.alert_after,
            changed=True,
        )
        if effect.duration is not None:
            hb["duration"] = effect.duration
        results[index] = effect.alert_after
    if inserts:
        cur.execute(sql.insert_many(len(inserts)), [value for row in inserts for value in row])
    updates = [
        [hb_fields[n].get_db_prep_value(hb[n], connection) for n in sql.update_names]
        + [hb_fields["last_duration"].get_db_prep_value(hb["duration"], connection), hb["id"]]
        for hb in beats.values()
        if hb.get("changed")
    ]
    if updates:
        cur.executemany(sql.update, updates)


class Writer(GroupCommitWriter):
    """One thread that writes queued pings in batches: every ping waiting is committed together."""

    def __init__(self):
        super().__init__(lambda items: record_batch(items), name="ping-writer")

    def submit(self, request, body, truncated) -> Future:
        return super().submit((request, body, truncated))
