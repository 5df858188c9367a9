"""/healthz and /metrics: for load balancers, uptime monitors and Prometheus."""

import hmac
import logging

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .. import metrics
from ..models import Finding, JobFailureCount, Notification
from ..models.findings import Severity, State

logger = logging.getLogger(__name__)

# The database and job queue this process uses; tests point these at broken ones.
db_connection = connection


def job_queue():
    """Return the Huey instance jobs are enqueued on."""
    from huey.contrib.djhuey import HUEY

    return HUEY


def database_status(conn) -> str:
    """Return "ok" when the database answers a query, else "unavailable"."""
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means the same to a load balancer
        logger.warning("Health check: the database does not answer: %s", exc)
        return "unavailable"
    return "ok"


def jobs_status(huey) -> str:
    """Return "ok" when the job queue's storage (SQLite file or Redis) answers, else "unavailable"."""
    try:
        huey.pending_count()
    except Exception as exc:
        logger.warning("Health check: the job queue does not answer: %s", exc)
        return "unavailable"
    return "ok"


@never_cache
@require_safe
def healthz(request):
    """Answer 200 when the database and the job queue answer, 503 naming the part that does not."""
    parts = {"database": database_status(db_connection), "jobs": jobs_status(job_queue())}
    healthy = all(v == "ok" for v in parts.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **parts}, status=200 if healthy else 503
    )


def _escape(value) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _Exposition:
    """Prometheus text format, version 0.0.4."""

    def __init__(self):
        self.lines = []

    def metric(self, name, kind, help_text, samples):
        """Add one metric: `samples` is a list of (labels dict, value)."""
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
            self.lines.append(f"{name}{{{label_text}}} {value}" if label_text else f"{name} {value}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _authorized(request) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return True
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@never_cache
@require_safe
def metrics_view(request):
    """Expose requests, the job queue, failed jobs, findings and notifications in Prometheus text format."""
    if not _authorized(request):
        response = HttpResponse(
            "This endpoint needs the metrics token: send 'Authorization: Bearer <KEEPWELL_METRICS_TOKEN>'.\n",
            status=401,
            content_type="text/plain; charset=utf-8",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    out = _Exposition()
    requests, duration = metrics.request_counts()
    out.metric(
        "keepwell_http_requests_total",
        "counter",
        "HTTP requests answered by this web process, by method and status.",
        [({"method": m, "status": s}, n) for (m, s), n in sorted(requests.items())],
    )
    out.metric(
        "keepwell_http_request_duration_seconds",
        "summary",
        "Time spent answering HTTP requests in this web process.",
        [],
    )
    out.lines.append(f"keepwell_http_request_duration_seconds_sum {duration.get('sum', 0.0):.6f}")
    out.lines.append(f"keepwell_http_request_duration_seconds_count {duration.get('count', 0)}")

    huey = job_queue()
    try:
        pending, scheduled = huey.pending_count(), huey.scheduled_count()
    except Exception as exc:
        logger.warning("Metrics: the job queue does not answer: %s", exc)
        pending = scheduled = "NaN"
    out.metric("keepwell_jobs_pending", "gauge", "Jobs waiting in the queue for a worker.", [({}, pending)])
    out.metric(
        "keepwell_jobs_scheduled",
        "gauge",
        "Jobs scheduled to run later (retries, delays).",
        [({}, scheduled)],
    )
    out.metric(
        "keepwell_jobs_failed_total",
        "counter",
        "Job runs that raised an error, by task, across all workers.",
        [({"task": row.task}, row.count) for row in JobFailureCount.objects.all()],
    )

    findings = {
        (r["severity"], r["state"]): r["n"]
        for r in Finding.objects.order_by().values("severity", "state").annotate(n=Count("id"))
    }
    out.metric(
        "keepwell_findings",
        "gauge",
        "Findings by severity and state, across all organizations.",
        [
            ({"severity": sev, "state": st}, findings.get((sev, st), 0))
            for sev in Severity.values
            for st in State.values
        ],
    )
    notifications = dict(
        Notification.objects.order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    out.metric(
        "keepwell_notifications",
        "gauge",
        "Notifications by delivery status, across all organizations.",
        [({"status": st}, notifications.get(st, 0)) for st in Notification.Status.values],
    )
    return HttpResponse(out.text(), content_type="text/plain; version=0.0.4; charset=utf-8")
