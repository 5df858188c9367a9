"""Alerting: turn finding transitions into notifications on the organization's channels.

Public surface (pages, API and jobs use only these):

    validate_target(kind, target) -> str      normalized target, or django ValidationError
    send_test(channel) -> Notification        one synchronous delivery, status sent or failed
    action_url(finding, action) -> str        signed one-click link ("acknowledge" or "resolve")
    EVENTS                                    notification event name -> one-line description
    run_pass(now=None) -> dict                one pass of the machinery (the periodic job runs it)
"""

import logging
import time

from django.utils import timezone

from .channels import validate_target
from .delivery import deliver_due, send_test
from .links import action_url
from .messages import EVENTS
from .reminders import schedule_reminders
from .routing import prune, release_due, route_events

__all__ = ["EVENTS", "action_url", "run_pass", "send_test", "validate_target"]

log = logging.getLogger(__name__)
MAX_BATCHES = 50  # bounds one pass; what is left waits for the next one


def run_pass(now=None) -> dict:
    """Schedule reminders, route the outbox, close bursts and holds, and send what is due."""
    fixed, started = now, time.perf_counter()
    stats = {"reminders": schedule_reminders(now), "routed": 0, "released": 0, "sent": 0, "failed": 0}
    for _ in range(MAX_BATCHES):
        # Interleaved, so that a long outbox does not delay messages whose burst has already closed.
        now = fixed or timezone.now()
        routed = route_events(now)
        released = release_due(now)
        sent, failed = deliver_due(now)
        for key, value in (("routed", routed), ("released", released), ("sent", sent), ("failed", failed)):
            stats[key] += value
        if not (routed or released or sent or failed):
            break
    stats["pruned"] = prune(fixed)
    stats["seconds"] = round(time.perf_counter() - started, 3)
    if stats["routed"] or stats["sent"] or stats["failed"]:
        log.info("Alerting pass: %s", stats)
    return stats
