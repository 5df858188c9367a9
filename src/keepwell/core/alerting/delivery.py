"""Delivery: send ready notifications through their channel, log each attempt, retry with backoff."""

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F
from django.urls import NoReverseMatch
from django.utils import timezone

from ..models import Channel, Delivery, Finding, Notification
from ..models.findings import SEVERITY_RANK
from . import messages, timing
from .channels import DeliveryError, send_apprise, send_email, send_webhook
from .links import action_url

log = logging.getLogger(__name__)

Status = Notification.Status
SEND_LEASE = timedelta(minutes=5)  # a claimed send not finished by then is tried again
DELIVERY_THREADS = 8  # notifications sent at the same time by one worker
PAYLOAD_LIMIT = 500  # findings in one webhook payload; `count` tells the full number


def finding_dict(finding) -> dict:
    """Return the webhook payload's description of `finding`, with its signed action links."""
    base = settings.BASE_URL
    try:
        url = finding.url or finding.get_absolute_url()
    except NoReverseMatch:  # the findings pages are not installed (a stripped-down deployment)
        url = ""
    return {
        "id": finding.pk,
        "service": finding.service.slug,
        "source": finding.source,
        "key": finding.key,
        "title": finding.title,
        "severity": finding.severity,
        "state": finding.state,
        "url": url if not url or url.startswith(("http://", "https://")) else base + url,
        "acknowledge_url": action_url(finding, "acknowledge"),
        "resolve_url": action_url(finding, "resolve"),
    }


def _ordered(findings):
    return sorted(findings, key=lambda f: (-SEVERITY_RANK[f.severity], f.pk))


def compose(notification, findings) -> tuple[str, str]:
    """Return (subject, body) for `notification` about `findings` (models, or rows with pk and severity)."""
    org = notification.organization.name
    listed = [f.pk for f in _ordered(findings)[: messages.BODY_LIMIT]]
    loaded = Finding.objects.select_related("service", "organization").in_bulk(listed)
    items = [finding_dict(loaded[pk]) for pk in listed if pk in loaded]
    # The subject counts every finding; the body lists the first BODY_LIMIT with their links.
    counted = [{"severity": f.severity} for f in findings]
    if len(findings) == 1:
        subject = messages.subject(notification.event, org, items)
    else:
        subject = messages.subject(notification.event, org, counted)
    text = messages.body(notification.event, org, items)
    if len(findings) > messages.BODY_LIMIT:
        text += f"... and {len(findings) - messages.BODY_LIMIT} more in {org}'s findings inbox.\n"
    return subject, text


def payload(notification) -> dict:
    """Return the documented webhook payload for `notification`."""
    findings = list(notification.findings.select_related("service", "organization").order_by("id"))
    listed = _ordered(findings)[:PAYLOAD_LIMIT]
    return {
        "version": 1,
        "event": notification.event,
        "notification": notification.pk,
        "organization": {"slug": notification.organization.slug, "name": notification.organization.name},
        "subject": notification.subject,
        "text": notification.body,
        "count": len(findings),
        "findings": [finding_dict(f) for f in listed],
    }


def send(notification) -> str:
    """Send `notification` once through its channel; return a short report or raise."""
    channel = notification.channel
    if channel.kind == Channel.Kind.WEBHOOK:
        return send_webhook(channel, payload(notification))
    if channel.kind == Channel.Kind.EMAIL:
        return send_email(channel, notification.subject, notification.body)
    if channel.kind == Channel.Kind.APPRISE:
        return send_apprise(channel, notification.subject, notification.body)
    raise DeliveryError(f"Unknown channel kind {channel.kind!r}.")


def attempt(notification, final=False, now=None) -> bool:
    """Make one delivery attempt (already counted in `attempts`), log it, and schedule what comes next."""
    started = time.monotonic()
    try:
        report, ok = send(notification), True
    except DeliveryError as exc:
        report, ok = str(exc), False
    except ValueError as exc:  # netguard.BlockedTarget, undecryptable credentials
        report, ok = str(exc), False
    except Exception as exc:  # a network or mail error: keep the pass alive, log the reason
        log.warning("Delivery of notification %s failed", notification.pk, exc_info=True)
        report, ok = f"{type(exc).__name__}: {exc}", False
    now = now or timezone.now()
    with transaction.atomic():
        _record(notification, ok, report, started, final, now)
    return ok


def _record(notification, ok, report, started, final, now):
    """Log the attempt and set what happens next: sent, a retry after backoff, or failed."""
    Delivery.objects.create(
        notification=notification,
        attempted_at=now,
        ok=ok,
        response=report[:2000],
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    if ok:
        notification.status, notification.sent_at, notification.last_error = Status.SENT, now, ""
    elif final or notification.attempts >= settings.ALERT_MAX_ATTEMPTS:
        notification.status, notification.last_error = Status.FAILED, report[:2000]
    else:
        notification.status, notification.last_error = Status.PENDING, report[:2000]
        notification.next_attempt_at = now + timing.retry_delay(notification.attempts)
    notification.save(update_fields=["status", "sent_at", "last_error", "next_attempt_at"])


def _deliver_one(pk, at, now) -> bool | None:
    """Claim and send one due notification; return whether it was sent, or None when another had it."""
    # The claim: only the worker whose UPDATE still sees the old due time sends it.
    claimed = Notification.objects.filter(pk=pk, status=Status.PENDING, next_attempt_at=at).update(
        next_attempt_at=now + SEND_LEASE, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    notification = Notification.objects.select_related("channel", "organization").get(pk=pk)
    return attempt(notification, now=now)


def _in_thread(pk, at, now):
    try:
        return _deliver_one(pk, at, now)
    finally:
        connections.close_all()  # this thread's own connections


def deliver_due(now=None, limit=200) -> tuple[int, int]:
    """Send every pending notification that is due, several at once; return (sent, failed attempts)."""
    now = now or timezone.now()
    due = list(
        Notification.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", "next_attempt_at")[:limit]
    )
    if len(due) > 1 and not transaction.get_connection().in_atomic_block:
        # Channels answer slowly (hundreds of milliseconds): send in parallel, each on its own connection.
        with ThreadPoolExecutor(max_workers=DELIVERY_THREADS, thread_name_prefix="keepwell-deliver") as pool:
            results = list(pool.map(lambda row: _in_thread(*row, now), due))
    else:
        # Inside a transaction other connections could not see our rows: send one by one.
        results = [_deliver_one(pk, at, now) for pk, at in due]
    return results.count(True), results.count(False)


def send_test(channel) -> Notification:
    """Send a test message to `channel` now and return the Notification (status sent or failed)."""
    org = channel.organization
    notification = Notification.objects.create(
        organization=org,
        channel=channel,
        event="test",
        subject=f"Test notification from {settings.SITE_NAME} for {org.name}",
        body=(
            f'This is a test of the channel "{channel.name}" in {org.name}. '
            "If you can read this, notifications about findings will reach you here.\n"
        ),
        status=Status.PENDING,
        attempts=1,
    )
    attempt(notification, final=True)
    return notification
