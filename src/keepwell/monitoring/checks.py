"""The monitoring practice's scorecard: uptime monitors and heartbeats of one service, in one line."""

from datetime import timedelta

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from keepwell.core.scorecard import ATTENTION, FAILING, NOT_SET_UP, OK, PracticeStatus, register

from .models import Heartbeat, Monitor

M, H = Monitor.Status, Heartbeat.Status
NAMES_SHOWN = 2
OVERDUE = "overdue"  # a heartbeat started and not finished within its grace time

# What needs a person, worst first: (kind, status, words). Statuses not listed here are fine.
FAILING_STATES = [("monitor", M.DOWN, "down"), ("heartbeat", H.DOWN, "down")]
ATTENTION_STATES = [
    ("monitor", M.UNREACHABLE, "unreachable"),
    ("monitor", M.PENDING, "pending"),
    ("heartbeat", OVERDUE, "started and running too long"),
    ("heartbeat", H.NEW, "waiting for a first ping"),
    ("monitor", M.PAUSED, "paused"),
    ("heartbeat", H.PAUSED, "paused"),
]


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _part(kind, words, count, names) -> str:
    shown = ", ".join(names[:NAMES_SHOWN]) + (
        f" and {count - NAMES_SHOWN} more" if count > NAMES_SHOWN else ""
    )
    return f"{_count(count, kind)} {words} ({shown})"


def summarize(monitors: dict, heartbeats: dict) -> tuple[str, str, str]:
    """Return (state, one-line reason, "monitors" or "heartbeats": the list to link) for one service.

    `monitors` and `heartbeats` map a status (or OVERDUE) to (count, a few names); pure, no database.
    """
    total_m = sum(c for s, (c, _) in monitors.items() if s != OVERDUE)
    total_h = sum(c for s, (c, _) in heartbeats.items() if s != OVERDUE)
    if not total_m and not total_h:
        return NOT_SET_UP, "No uptime monitors or heartbeats yet.", "monitors"
    of = {"monitor": monitors, "heartbeat": heartbeats}
    for state, table in ((FAILING, FAILING_STATES), (ATTENTION, ATTENTION_STATES)):
        parts, link = [], ""
        for kind, status, words in table:
            count, names = of[kind].get(status, (0, []))
            if count:
                parts.append(_part(kind, words, count, names))
                link = link or kind + "s"
        if parts:
            return state, "; ".join(parts) + ".", link
    up = [_count(n, word) for n, word in ((total_m, "monitor"), (total_h, "heartbeat")) if n]
    return OK, " and ".join(up) + " up.", "monitors" if total_m else "heartbeats"


def _by_status(queryset, problems) -> dict:
    counts = dict(queryset.order_by().values_list("status").annotate(n=Count("id")))
    out = {}
    for status, count in counts.items():
        names = []
        if status in problems:
            names = list(queryset.filter(status=status).order_by("name").values_list("name", flat=True)[:3])
        out[status] = (count, names)
    return out


@register("monitoring")
def status(service) -> PracticeStatus:
    """Return the status of the service's uptime monitors and heartbeats."""
    monitor_problems = {s for kind, s, _ in FAILING_STATES + ATTENTION_STATES if kind == "monitor"}
    heartbeat_problems = {s for kind, s, _ in FAILING_STATES + ATTENTION_STATES if kind == "heartbeat"}
    monitors = _by_status(Monitor.objects.filter(service=service), monitor_problems)
    beats = Heartbeat.objects.filter(service=service)
    heartbeats = _by_status(beats, heartbeat_problems)
    if H.STARTED in heartbeats:
        now = timezone.now()
        started = beats.filter(status=H.STARTED).order_by("name").values_list("name", "last_start", "grace")
        late = [n for n, start, grace in started if start and now - start > timedelta(seconds=grace)]
        if late:
            heartbeats[OVERDUE] = (len(late), late[:3])
    state, reason, which = summarize(monitors, heartbeats)
    org = service.organization.slug
    name = "monitor-new" if state == NOT_SET_UP else which
    return PracticeStatus(state, reason, reverse(name, args=[org]) + f"?service={service.slug}")
