"""The Healthchecks ping protocol: HEAD, GET or POST /ping/<uuid>[/start|/fail|/log|/<exit status>].

The same under /ping/<ping-key>/<slug>, where `?create=1` creates a missing heartbeat. Kept cheap: one
look-up and one short transaction per ping, no session, no CSRF token, no template.
"""

import time
import uuid as uuid_module

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from keepwell.core import clientip

from . import heartbeats, schedules
from .heartbeat_tasks import HORIZON, schedule_heartbeats_pass
from .models import Heartbeat, Ping, PingKey

ALLOWED = ("GET", "HEAD", "POST")


def _answer(text: str, status: int = 200, limit: int | None = None) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    response["Ping-Body-Limit"] = str(limit if limit is not None else settings.PING_BODY_LIMIT)
    if status == 405:
        response["Allow"] = ", ".join(ALLOWED)
    return response


def _read_body(request) -> tuple[bytes, bool, int]:
    """Return (the first `limit` bytes of the body, whether more was sent, the limit)."""
    limit = schedules.body_limit(request.headers.get("Ping-Body-Limit"), settings.PING_BODY_LIMIT)
    if request.method != "POST":
        return b"", False, limit
    # Read from the stream, not request.body: a body above Django's upload limit is truncated, not refused.
    body = request.read(limit + 1)
    return body[:limit], len(body) > limit, limit


def _ping(request, heartbeat_id: int, action: str, exit_status: str | None, created: bool = False):
    kind = {"": Ping.Kind.SUCCESS, "start": Ping.Kind.START, "fail": Ping.Kind.FAIL, "log": Ping.Kind.LOG}[
        action
    ]
    code = None
    if exit_status is not None:
        try:
            code = schedules.parse_exit_status(exit_status)
        except ValueError as exc:
            return _answer(str(exc), 400)
    rid = None
    if "rid" in request.GET:
        try:
            rid = uuid_module.UUID(request.GET["rid"][:100])
        except ValueError:
            return _answer("The rid parameter must be a UUID, e.g. rid=$(uuidgen).", 400)
    body, truncated, limit = _read_body(request)
    ping = heartbeats.record_ping(
        heartbeat_id,
        kind=kind,
        exit_status=code,
        rid=rid,
        method=request.method,
        remote_addr=clientip.from_request(request) or None,
        user_agent=request.headers.get("User-Agent", ""),
        body=body,
        body_truncated=truncated,
    )
    if ping.alert_after is not None and ping.alert_after.timestamp() - time.time() <= HORIZON:
        schedule_heartbeats_pass(ping.alert_after.timestamp())
    return _answer("Created" if created else "OK", 201 if created else 200, limit)


@csrf_exempt
def ping_by_uuid(request, code, action="", exit_status=None):
    """Record a ping for the heartbeat with UUID `code`."""
    if request.method not in ALLOWED:
        return _answer("Ping with HEAD, GET or POST.", 405)
    heartbeat_id = Heartbeat.objects.filter(uuid=code).values_list("id", flat=True).first()
    if heartbeat_id is None:
        return _answer("No heartbeat with this UUID: check the ping URL.", 404)
    return _ping(request, heartbeat_id, action, exit_status)


@csrf_exempt
def ping_by_slug(request, ping_key, slug, action="", exit_status=None):
    """Record a ping for the heartbeat `slug` of the organization whose ping key is `ping_key`."""
    if request.method not in ALLOWED:
        return _answer("Ping with HEAD, GET or POST.", 405)
    org_id = PingKey.objects.filter(key=ping_key).values_list("organization_id", flat=True).first()
    if org_id is None:
        return _answer("No organization has this ping key: check the ping URL.", 404)
    matches = list(
        Heartbeat.objects.filter(organization_id=org_id, slug=slug).values_list("id", flat=True)[:2]
    )
    if len(matches) > 1:
        return _answer(
            f"Several heartbeats have the slug {slug!r}: give each a unique slug, or ping by UUID.", 409
        )
    if matches:
        return _ping(request, matches[0], action, exit_status)
    if request.GET.get("create") != "1":
        return _answer(
            f"No heartbeat with the slug {slug!r}; add ?create=1 to create it with this ping.", 404
        )
    heartbeat, error, created = _create(org_id, slug, request.GET.get("service", ""))
    if error:
        return _answer(error, 400)
    return _ping(request, heartbeat.id, action, exit_status, created=created)


def _create(org_id: int, slug: str, service_slug: str):
    """Create heartbeat `slug` in the organization: in `service_slug`, or its only service.

    Return (heartbeat, error, created). Cron jobs on many machines often fire the same `?create=1` line in
    the same second: creation takes the organization's ping key row lock (and on SQLite the write lock of an
    IMMEDIATE transaction), then looks again, so exactly one heartbeat is created and the rest ping it.
    """
    from keepwell.core.models import Service

    services = Service.objects.filter(organization_id=org_id)
    if service_slug:
        services = services.filter(slug=service_slug[:50])
    found = list(services[:2])
    if not found:
        if service_slug:
            return None, f"No service {service_slug[:50]!r} in this organization: check ?service=.", False
        return None, "This organization has no service yet: create one, then ping again.", False
    if len(found) > 1:
        return (
            None,
            "This organization has several services: add &service=<service-slug> to say which.",
            False,
        )
    with transaction.atomic():
        list(PingKey.objects.select_for_update().filter(organization_id=org_id).values_list("id"))
        existing = Heartbeat.objects.filter(organization_id=org_id, slug=slug).first()
        if existing is not None:
            return existing, None, False
        # The slug exactly as pinged (the URL allows only slug characters), so the next ping finds it.
        heartbeat = Heartbeat.objects.create(organization_id=org_id, service=found[0], name=slug, slug=slug)
    return heartbeat, None, True
