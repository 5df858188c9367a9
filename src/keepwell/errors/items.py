"""Store the items of an envelope that are not events: attachments, user reports and sessions."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from keepwell.core.models import Release

from .envelope import normalize_event_id
from .models import EventAttachment, ReleaseSession, SessionBucket, UserReport
from .normalize import parse_timestamp, text


def _release(service, version: str, seen) -> None:
    Release.objects.get_or_create(service=service, version=version, defaults={"created": seen})


def record_attachment(service, event_id: str, item, received_at) -> EventAttachment:
    """Store an attachment of event `event_id`; its bytes only when within the size limit."""
    payload = item.payload
    keep = len(payload) <= settings.ERRORS_MAX_ATTACHMENT
    return EventAttachment.objects.create(
        service=service,
        event_id=event_id,
        filename=text(item.headers.get("filename"), 255) or "attachment",
        content_type=text(item.headers.get("content_type"), 100),
        size=len(payload),
        data=payload if keep else b"",
        created=received_at,
    )


def record_report(service, kind: str, data, received_at) -> int:
    """Store a user report (`user_report`) or feedback (`feedback`); return 1, or 0 when it is empty."""
    if not isinstance(data, dict):
        return 0
    if kind == "feedback":
        contexts = data.get("contexts")
        feedback = contexts.get("feedback") if isinstance(contexts, dict) else None
        feedback = feedback if isinstance(feedback, dict) else {}
        event_id = normalize_event_id(feedback.get("associated_event_id")) or ""
        name, email, comments = feedback.get("name"), feedback.get("contact_email"), feedback.get("message")
    else:
        event_id = normalize_event_id(data.get("event_id")) or ""
        name, email, comments = data.get("name"), data.get("email"), data.get("comments")
    comments = text(comments, 10_000)
    if not comments.strip():
        return 0
    UserReport.objects.create(
        service=service,
        event_id=event_id,
        name=text(name, 200),
        email=text(email, 254),
        comments=comments,
        created=received_at,
    )
    return 1


def _attrs(data: dict) -> tuple[str, str]:
    attrs = data.get("attrs") if isinstance(data.get("attrs"), dict) else {}
    return text(attrs.get("release"), 100).strip(), text(attrs.get("environment"), 50).strip()


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31 else 0


def record_session(service, data) -> int:
    """Record one session update (`session` item); the update with the highest `seq` wins. Return 1 or 0."""
    if not isinstance(data, dict):
        return 0
    release, environment = _attrs(data)
    sid = text(data.get("sid"), 64)
    if not release or not sid:
        return 0  # release health needs a release; a session without one tells nothing
    status = text(data.get("status"), 10) or "ok"
    if status not in ("ok", "exited", "crashed", "abnormal", "errored"):
        status = "ok"
    seq = data.get("seq") if isinstance(data.get("seq"), int) and not isinstance(data.get("seq"), bool) else 0
    started = parse_timestamp(data.get("started")) or timezone.now()
    fields = {
        "distinct_id": text(data.get("did"), 200),
        "release": release,
        "environment": environment,
        "status": status,
        "errors": _count(data.get("errors")),
        "seq": max(min(seq, 2**62), -(2**62)),
    }
    row = ReleaseSession.objects.filter(service=service, sid=sid).first()
    if row is None:
        _release(service, release, started)
        try:
            with transaction.atomic():
                ReleaseSession.objects.create(service=service, sid=sid, started=started, **fields)
            return 1
        except IntegrityError:
            row = ReleaseSession.objects.get(service=service, sid=sid)
    if fields["seq"] >= row.seq:
        ReleaseSession.objects.filter(pk=row.pk).update(**fields)
    return 1


def record_sessions(service, data) -> int:
    """Record aggregated sessions (`sessions` item); return how many sessions they count."""
    if not isinstance(data, dict):
        return 0
    release, environment = _attrs(data)
    if not release:
        return 0
    rows = []
    for bucket in (data.get("aggregates") or [])[:1000] if isinstance(data.get("aggregates"), list) else []:
        if not isinstance(bucket, dict):
            continue
        counts = {k: _count(bucket.get(k)) for k in ("exited", "errored", "abnormal", "crashed")}
        if not any(counts.values()):
            continue
        rows.append(
            SessionBucket(
                service=service,
                release=release,
                environment=environment,
                started=parse_timestamp(bucket.get("started")) or timezone.now(),
                distinct_id=text(bucket.get("did"), 200),
                **counts,
            )
        )
    if rows:
        _release(service, release, min(r.started for r in rows))
        SessionBucket.objects.bulk_create(rows)
    return sum(r.exited + r.errored + r.abnormal + r.crashed for r in rows)
