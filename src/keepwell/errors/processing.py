"""Turn spooled envelopes into stored events, groups, attachments, user reports and sessions.

Envelopes are processed in batches: one transaction takes up to BATCH spooled envelopes, stores what they
hold with a few queries per group (not per event), and deletes them from the spool. A job that runs twice, or
dies half-way and is retried, therefore stores everything exactly once; the job of an envelope that an
earlier batch already took finds nothing to do. On PostgreSQL concurrent workers take disjoint batches
(SKIP LOCKED) and lock the groups they count on, in id order.
"""

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from keepwell.core.models import Release

from . import grouping, items, versions
from .envelope import EnvelopeError, normalize_event_id, parse_envelope
from .group_findings import (  # noqa: F401  (re-exported)
    SOURCE,
    check_spike,
    raise_for,
    resolve_findings,
    spike_threshold,  # noqa: F401  (re-exported)
)
from .models import ErrorEvent, ErrorGroup, GroupHour, GroupTag
from .normalize import normalize, user_key

log = logging.getLogger(__name__)
Status = ErrorGroup.Status
BATCH = 500  # envelopes per transaction
MAX_TAG_VALUES = 1000  # distinct values kept per tag key of a group (users are always counted)


@dataclass
class Outcome:
    """What processing did: for the tests, the bench and the log."""

    envelopes: int = 0
    events: list[str] = field(default_factory=list)  # event ids stored
    duplicates: int = 0
    new_groups: list[int] = field(default_factory=list)
    regressed: list[int] = field(default_factory=list)
    sessions: int = 0
    attachments: int = 0
    reports: int = 0
    dropped: int = 0

    def merge(self, other: "Outcome") -> None:
        """Add what `other` did to this outcome."""
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass
class Spooled:
    """One envelope to process: what the spool row holds."""

    service: object
    body: bytes
    received_at: datetime
    client_ip: str = ""


def process_envelope(raw_id: int) -> Outcome | None:
    """Process spooled envelope `raw_id` with a batch of others; None when an earlier batch took it."""
    return process_spool(first=raw_id, only_with_first=True)


def process_spool(
    first: int | None = None, limit: int = BATCH, only_with_first: bool = False
) -> Outcome | None:
    """Process up to `limit` spooled envelopes (`first` among them), oldest first, and delete them.

    The envelopes are parsed, normalized and fingerprinted before the write transaction, so that SQLite's one
    writer (the ingest path needs it too) waits only for the queries. Inside it, the envelopes still spooled
    are claimed; any another worker took in the meantime are skipped.
    """
    from keepwell.core.models import Service

    from .models import RawEnvelope

    columns = ("id", "service_id", "body", "received_at", "client_ip")
    rows = list(RawEnvelope.objects.filter(pk=first).values_list(*columns)) if first is not None else []
    if only_with_first and not rows:
        return None
    rows += list(
        RawEnvelope.objects.exclude(pk=first).order_by("id").values_list(*columns)[: limit - len(rows)]
    )
    if not rows:
        return None
    services = Service.objects.select_related("organization").in_bulk({r[1] for r in rows})
    prepared = {}
    for pk, service_id, body, received_at, client_ip in rows:
        spooled = Spooled(services[service_id], bytes(body), received_at, client_ip or "")
        try:
            prepared[pk] = prepare(spooled)
        except Exception:
            log.exception("dropping spooled envelope %s: it could not be parsed", pk)
            prepared[pk] = Prepared(spooled, dropped=1)
    try:
        return _store_claimed(prepared)
    except OperationalError:
        raise  # the database is busy or gone: the job tries again
    except Exception:
        if len(prepared) == 1:
            # One envelope that cannot be stored must not block the spool behind it: log it and drop it.
            pk = next(iter(prepared))
            log.exception("dropping spooled envelope %s: storing it failed", pk)
            RawEnvelope.objects.filter(pk=pk).delete()
            return Outcome(envelopes=1, dropped=1)
        log.warning("a batch of %d envelopes failed; processing them one by one", len(prepared))
        total = Outcome()
        for pk in prepared:
            one = process_spool(first=pk, limit=1, only_with_first=True)
            if one is not None:
                total.merge(one)
        return total


def _store_claimed(prepared: dict[int, "Prepared"]) -> Outcome | None:
    """Claim the envelopes still spooled, store them and delete them, in one transaction."""
    from .models import RawEnvelope

    with transaction.atomic():
        claim = RawEnvelope.objects.filter(pk__in=list(prepared))
        if connection.features.has_select_for_update_skip_locked:
            claim = claim.select_for_update(skip_locked=True)
        claimed = sorted(claim.values_list("pk", flat=True))
        if not claimed:
            return None
        outcome = store([prepared[pk] for pk in claimed])
        RawEnvelope.objects.filter(pk__in=claimed).delete()
    return outcome


def process_body(service, body: bytes, received_at: datetime | None = None, client_ip: str = "") -> Outcome:
    """Store what one envelope `body` holds for `service` (in one transaction)."""
    prepared = prepare(Spooled(service, body, received_at or timezone.now(), client_ip))
    with transaction.atomic():
        return store([prepared])


@dataclass
class _Event:
    service: object
    event: dict
    event_id: str
    received_at: datetime
    fingerprint: str = ""


@dataclass
class Prepared:
    """One envelope, parsed: its events normalized and fingerprinted, its other items decoded."""

    spooled: Spooled
    events: list[_Event] = field(default_factory=list)
    others: list[tuple[str, object]] = field(default_factory=list)  # (item type, parsed JSON)
    attachments: list = field(default_factory=list)  # (event id, Item)
    dropped: int = 0


def prepare(spooled: Spooled) -> Prepared:
    """Parse one envelope and do the work that needs no database: normalizing and fingerprinting."""
    out = Prepared(spooled)
    try:
        envelope = parse_envelope(spooled.body)
    except EnvelopeError as exc:
        # The ingest side checked the framing; only a spool row written by hand gets here.
        log.warning("dropping a spooled envelope of %s: %s", spooled.service.slug, exc)
        out.dropped += 1
        return out
    event_id = envelope.event_id
    attachments = []
    for item in envelope.items:
        try:
            if item.type == "event":
                pending = _prepare(spooled, item.json(), event_id)
                if pending is None:
                    out.dropped += 1
                else:
                    out.events.append(pending)
                    event_id = pending.event_id
            elif item.type == "attachment":
                attachments.append(item)
            elif item.type in ("session", "sessions", "user_report", "feedback"):
                out.others.append((item.type, item.json()))
            else:
                out.dropped += 1  # transactions, client reports: not kept
        except EnvelopeError as exc:
            log.warning("dropping a %s item of %s: %s", item.type, spooled.service.slug, exc)
            out.dropped += 1
    if event_id:
        out.attachments = [(event_id, item) for item in attachments]
    else:
        out.dropped += len(attachments)
    return out


def store(batch: list[Prepared]) -> Outcome:
    """Store prepared envelopes; call inside a transaction."""
    outcome = Outcome(envelopes=len(batch))
    by_service = defaultdict(list)
    for prepared in batch:
        spooled, service = prepared.spooled, prepared.spooled.service
        outcome.dropped += prepared.dropped
        for kind, data in prepared.others:
            if kind == "session":
                outcome.sessions += items.record_session(service, data)
            elif kind == "sessions":
                outcome.sessions += items.record_sessions(service, data)
            else:
                outcome.reports += items.record_report(service, kind, data, spooled.received_at)
        for event_id, item in prepared.attachments:
            items.record_attachment(service, event_id, item, spooled.received_at)
            outcome.attachments += 1
        for pending in prepared.events:
            by_service[service.pk].append(pending)
    for pendings in by_service.values():
        _store(pendings[0].service, pendings, outcome)
    return outcome


def _prepare(spooled: Spooled, data, envelope_event_id: str | None) -> _Event | None:
    """Normalize and fingerprint one event (pure work, no queries); None when it is not a JSON object."""
    if not isinstance(data, dict):
        return None
    event = normalize(data, spooled.received_at)
    if event["user"].get("ip_address") == "{{auto}}":
        # The SDK asks for the sender's address (as Sentry infers it); without one, drop the placeholder.
        if spooled.client_ip:
            event["user"]["ip_address"] = spooled.client_ip
        else:
            del event["user"]["ip_address"]
        event["user_key"] = user_key(event["user"])
    event_id = normalize_event_id(data.get("event_id")) or envelope_event_id or uuid.uuid4().hex
    event["event_id"] = event_id
    return _Event(spooled.service, event, event_id, spooled.received_at, grouping.fingerprint(event))


# --- Events and groups ----------------------------------------------------------------------------------


def _store(service, pendings: list[_Event], outcome: Outcome) -> None:
    """Group, count and store one service's events of the batch."""
    known = set(
        ErrorEvent.objects.filter(service=service, event_id__in=[p.event_id for p in pendings]).values_list(
            "event_id", flat=True
        )
    )
    fresh, seen_ids = [], set()
    for p in pendings:
        if p.event_id in known or p.event_id in seen_ids:
            outcome.duplicates += 1
            continue
        seen_ids.add(p.event_id)
        fresh.append(p)
    if not fresh:
        return
    fresh.sort(key=lambda p: p.event["timestamp"])
    release_seen = _releases(service, {p.event["release"] for p in fresh if p.event["release"]})
    groups, created = _groups(service, fresh)
    # The groups' own releases too: the comparisons below need when each was first seen.
    earlier = {r for g in groups.values() for r in (g.resolved_release, g.last_release) if r} - set(
        release_seen
    )
    release_seen.update(
        Release.objects.filter(service=service, version__in=earlier).values_list("version", "created")
    )
    counters = {g.pk: _Counter(g) for g in groups.values()}
    for p in fresh:
        counter = counters[groups[p.fingerprint].pk]
        counter.add(p, release_seen)
    _count_tags(counters, outcome)
    hours = _count_hours(counters)
    ErrorEvent.objects.bulk_create(
        [
            ErrorEvent(
                group_id=groups[p.fingerprint].pk,
                service=service,
                event_id=p.event_id,
                timestamp=p.event["timestamp"],
                received_at=p.received_at,
                level=p.event["level"],
                title=p.event["title"],
                release=p.event["release"],
                environment=p.event["environment"],
                user_key=p.event["user_key"][:210],
                data=ErrorEvent.pack({**p.event, "timestamp": p.event["timestamp"].isoformat()}),
            )
            for p in fresh
        ],
        batch_size=200,
    )
    outcome.events += [p.event_id for p in fresh]
    ErrorGroup.objects.bulk_update(
        [c.group for c in counters.values()],
        [
            "count",
            "users",
            "first_seen",
            "last_seen",
            "title",
            "culprit",
            "level",
            "last_release",
            "status",
            "regressed",
            "resolved_at",
            "ignored_until",
            "ignored_until_count",
        ],
    )
    for counter in counters.values():
        group = counter.group
        group.service = service
        if group.pk in created:
            outcome.new_groups.append(group.pk)
            raise_for(group, created=True)
        elif counter.regressed_in is not None:
            outcome.regressed.append(group.pk)
            raise_for(group, regressed_in=counter.regressed_in)
        elif counter.reopened:
            raise_for(group, reopened=True)
        for hour, (before, after) in hours.get(group.pk, {}).items():
            check_spike(group, hour, before, after)


def _releases(service, names: set[str]) -> dict[str, datetime]:
    """Create the releases the events name (as core releases); return when each was first seen."""
    seen = dict(Release.objects.filter(service=service, version__in=names).values_list("version", "created"))
    for name in sorted(names - set(seen)):
        release, _ = Release.objects.get_or_create(service=service, version=name)
        seen[name] = release.created
    return seen


def _groups(service, fresh: list[_Event]) -> tuple[dict[str, ErrorGroup], set[int]]:
    """Return the groups of the events by fingerprint, creating the new ones; lock them (PostgreSQL)."""
    prints = {p.fingerprint for p in fresh}
    rows = ErrorGroup.objects.filter(service=service, fingerprint__in=prints).order_by("id")
    if connection.features.has_select_for_update:
        rows = rows.select_for_update()
    groups = {g.fingerprint: g for g in rows}
    created = set()
    for p in fresh:
        if p.fingerprint in groups:
            continue
        excs = p.event["exceptions"]
        try:
            with transaction.atomic():
                group = ErrorGroup.objects.create(
                    organization_id=service.organization_id,
                    service=service,
                    fingerprint=p.fingerprint,
                    title=p.event["title"],
                    culprit=p.event["culprit"],
                    type=excs[-1]["type"] if excs else "",
                    level=p.event["level"],
                    first_seen=p.event["timestamp"],
                    last_seen=p.event["timestamp"],
                )
            created.add(group.pk)
        except IntegrityError:
            # Another worker created it a moment ago: count on theirs.
            group = ErrorGroup.objects.filter(service=service, fingerprint=p.fingerprint)
            group = (group.select_for_update() if connection.features.has_select_for_update else group).get()
        groups[p.fingerprint] = group
    return groups, created


def is_regression(group: ErrorGroup, release: str, seen: dict) -> bool:
    """Return True when an event of `release` re-opens the resolved `group`.

    Resolved: any event re-opens it except one from a release older than the one it was resolved in.
    Resolved in next release: only an event from a release newer than that one re-opens it.
    """
    if not group.resolved_release or not release:
        # Nothing to compare: plain "resolved" re-opens; "next release" waits for a named release.
        return group.status == Status.RESOLVED or (bool(release) and not group.resolved_release)
    order = versions.compare(
        release, group.resolved_release, seen.get(release), seen.get(group.resolved_release)
    )
    if group.status == Status.RESOLVED_NEXT:
        return order > 0
    return order >= 0


class _Counter:
    """One group's events of the batch, applied in time order: state changes, counters, tags, hours."""

    def __init__(self, group: ErrorGroup):
        self.group = group
        self.regressed_in: str | None = None
        self.reopened = False
        self.tags: dict[tuple[str, str], list] = {}  # (key, value) -> [count, first, last]
        self.hours: dict[datetime, int] = defaultdict(int)

    def add(self, p: _Event, release_seen: dict) -> None:
        group, event = self.group, p.event
        when, release = event["timestamp"], event["release"]
        if group.is_resolved:
            if is_regression(group, release, release_seen):
                group.status, group.regressed, group.resolved_at = Status.UNRESOLVED, True, None
                self.regressed_in = release
        elif group.status == Status.IGNORED:
            if (group.ignored_until and group.ignored_until <= timezone.now()) or (
                group.ignored_until_count is not None and group.count + 1 >= group.ignored_until_count
            ):
                group.status, group.ignored_until, group.ignored_until_count = Status.UNRESOLVED, None, None
                self.reopened = True
        group.count += 1
        group.first_seen = min(group.first_seen, when)
        group.last_seen = max(group.last_seen, when)
        group.title, group.culprit, group.level = event["title"], event["culprit"], event["level"]
        if release and (
            not group.last_release
            or versions.compare(
                release, group.last_release, release_seen.get(release), release_seen.get(group.last_release)
            )
            > 0
        ):
            group.last_release = release
        pairs = list(event["tags"])
        for key in ("release", "environment", "level"):
            if event.get(key):
                pairs.append((key, event[key]))
        if event["user_key"]:
            pairs.append(("user", event["user_key"][:210]))
        for pair in dict.fromkeys(pairs):
            tally = self.tags.get(pair)
            if tally is None:
                self.tags[pair] = [1, when, when]
            else:
                tally[0] += 1
                tally[1], tally[2] = min(tally[1], when), max(tally[2], when)
        self.hours[when.replace(minute=0, second=0, microsecond=0)] += 1


def _count_tags(counters: dict[int, _Counter], outcome: Outcome) -> None:
    """Add the batch's tag counts to the groups' tags (the groups are locked); count new users."""
    group_ids = list(counters)
    keys = {key for c in counters.values() for key, _ in c.tags}
    values = {value for c in counters.values() for _, value in c.tags}
    existing = {
        (t.group_id, t.key, t.value): t
        for t in GroupTag.objects.filter(group_id__in=group_ids, key__in=keys, value__in=values)
    }
    per_key = defaultdict(int)
    for group_id, key, n in _tag_key_counts(group_ids):
        per_key[(group_id, key)] = n
    changed, new = [], []
    for group_id, counter in counters.items():
        for (key, value), (count, first, last) in counter.tags.items():
            row = existing.get((group_id, key, value))
            if row is not None:
                row.count += count
                row.first_seen, row.last_seen = min(row.first_seen, first), max(row.last_seen, last)
                changed.append(row)
                continue
            if key != "user" and per_key[(group_id, key)] >= MAX_TAG_VALUES:
                continue
            per_key[(group_id, key)] += 1
            new.append(
                GroupTag(
                    group_id=group_id, key=key, value=value, count=count, first_seen=first, last_seen=last
                )
            )
            if key == "user":
                counter.group.users += 1
    GroupTag.objects.bulk_update(changed, ["count", "first_seen", "last_seen"], batch_size=500)
    GroupTag.objects.bulk_create(new, batch_size=500)


def _tag_key_counts(group_ids: list[int]):
    from django.db.models import Count

    return (
        GroupTag.objects.filter(group_id__in=group_ids)
        .exclude(key="user")
        .values_list("group_id", "key")
        .annotate(n=Count("id"))
        .order_by()
    )


def _count_hours(counters: dict[int, _Counter]) -> dict[int, dict[datetime, tuple[int, int]]]:
    """Add the batch's events to the groups' hourly counts; return {group: {hour: (before, after)}}."""
    wanted = {(gid, hour) for gid, c in counters.items() for hour in c.hours}
    hours = {h for _, h in wanted}
    existing = {
        (row.group_id, row.hour): row
        for row in GroupHour.objects.filter(group_id__in=list(counters), hour__in=hours)
    }
    changed, new, out = [], [], defaultdict(dict)
    for gid, counter in counters.items():
        for hour, n in counter.hours.items():
            row = existing.get((gid, hour))
            before = row.count if row else 0
            if row is None:
                new.append(GroupHour(group_id=gid, hour=hour, count=n))
            else:
                row.count += n
                changed.append(row)
            out[gid][hour] = (before, before + n)
    GroupHour.objects.bulk_update(changed, ["count"], batch_size=500)
    GroupHour.objects.bulk_create(new, batch_size=500)
    return out
