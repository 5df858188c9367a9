"""Tenant isolation: a member of another organization reaches nothing of acme's, on any page or endpoint.

The test walks what exists, it lists nothing by hand: every pattern of Django's URL resolver and every
operation of /api/v1/openapi.json, so each page or endpoint a later app adds is walked too. Path parameters
are filled with acme's objects (an id goes to the objects whose model the path names, e.g. `channels/<pk>`,
or to every acme object when the path does not tell; a service slug with acme's and with charlie's own, so
that an object looked up under charlie's service is walked too), and charlie (owner of globex) requests each
one with GET and POST on the web, and with every documented method on the API.
"""

import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from keepwell.core import findings
from keepwell.core.models import (
    ApiToken,
    Channel,
    Deploy,
    Invitation,
    Link,
    MaintenanceWindow,
    Membership,
    Notification,
    Release,
    RoutingRule,
    Service,
)

# Route prefixes and names the walk leaves out, and why.
SKIP_PREFIXES = {
    "admin/": "Django's admin: staff only, tested by Django itself",
    "api/": "the JSON API: walked operation by operation from its OpenAPI document below",
    "static/": "static files hold no organization data",
}
SKIP_NAMES = {
    "healthz": "answers for the whole installation, holds no organization data",
    "metrics": "aggregate numbers only, no names (Prometheus scrapes it without signing in)",
    "login": "public sign-in page",
    "login-2fa": "public second step of sign-in",
    "logout": "would end charlie's session in the middle of the walk",
    "password_reset": "public page",
    "password_reset_done": "public page",
    "password_reset_confirm": "public page; authorized by the emailed token, not by membership",
    "password_reset_complete": "public page",
    "invite-accept": "public page; authorized by the invitation token, not by membership",
    "finding-action": "public page; authorized by the signed link, not by membership",
    "ping": "public Healthchecks ping endpoint; the heartbeat UUID or ping key is the secret",
    "ping-action": "public Healthchecks ping endpoint; the heartbeat UUID or ping key is the secret",
    "ping-exit-status": "public Healthchecks ping endpoint; the heartbeat UUID or ping key is the secret",
    "ping-slug": "public Healthchecks ping endpoint; the heartbeat UUID or ping key is the secret",
    "ping-slug-action": "public Healthchecks ping endpoint; the heartbeat UUID or ping key is the secret",
    "ping-slug-exit-status": "public Healthchecks ping endpoint; the heartbeat UUID or ping key is the secret",
    "alertmanager-hook": "public Alertmanager webhook; the token in the URL is the secret",
    "status-page": "public status page: published on purpose, shown to anyone",
    "status-feed": "public Atom feed of a status page: published on purpose, shown to anyone",
}
REFUSED = {401, 403, 404, 405, 422}


@pytest.fixture
def world(acme, alice, bob, charlie, other_org, webhook_receiver):
    """Build one acme object of every kind, each named with a marker that must never reach charlie."""
    acme.name = "Zeppelin Rocket Works"
    acme.save()
    service = Service.objects.create(
        organization=acme,
        name="Zeppelin Shop",
        slug="zeppelin-shop",
        description="Zeppelin description",
        environments=["zeppelin-prod"],
    )
    finding = findings.raise_finding(
        service, source="monitoring", key="zeppelin-key", title="Zeppelin finding", severity="critical"
    )
    channel = Channel.objects.create(
        organization=acme, name="Zeppelin pager", kind="webhook", target=webhook_receiver.url
    )
    rule = RoutingRule.objects.create(organization=acme, name="Zeppelin rule")
    rule.channels.add(channel)
    now = timezone.now()
    window = MaintenanceWindow.objects.create(
        organization=acme,
        service=service,
        title="Zeppelin window",
        starts_at=now,
        ends_at=now + timedelta(hours=1),
    )
    release = Release.objects.create(service=service, version="9.8.7-zeppelin", notes="Zeppelin notes")
    deploy = Deploy.objects.create(
        release=release, environment="zeppelin-prod", deployed_by="Zeppelin deployer"
    )
    link = Link.objects.create(
        organization=acme,
        source_type=ContentType.objects.get_for_model(finding),
        source_id=str(finding.pk),
        target_type=ContentType.objects.get_for_model(release),
        target_id=str(release.pk),
        relation="zeppelin-relation",
    )
    token, _ = ApiToken.issue(acme, alice, name="Zeppelin token", write=True)
    invitation, _ = Invitation.issue(acme, "zeppelin.invitee@example.org", "member", alice)
    notification = Notification.objects.create(
        organization=acme,
        channel=channel,
        event="opened",
        subject="Zeppelin notification",
        body="Zeppelin body",
    )
    notification.findings.add(finding)
    from keepwell.monitoring.models import CheckResult, Monitor

    monitor = Monitor.objects.create(
        organization=acme, service=service, name="Zeppelin monitor", target="https://zeppelin.example/"
    )
    check_result = CheckResult.objects.create(monitor=monitor, ok=False, error="Zeppelin error")
    from keepwell.monitoring.models import AlertmanagerHook, Incident, Prober, StatusComponent, StatusPage

    status_page = StatusPage.objects.create(
        organization=acme, slug="zeppelin-status", title="Zeppelin status"
    )
    component = StatusComponent.objects.create(page=status_page, name="Zeppelin component")
    component.monitors.add(monitor)
    incident = Incident.objects.create(page=status_page, title="Zeppelin incident")
    incident_update = incident.add_update("investigating", "Zeppelin update")
    hook, _ = AlertmanagerHook.issue(service, "Zeppelin hook")
    prober, _ = Prober.issue(acme, "zeppelin-dc", name="Zeppelin prober")
    objects = [
        service,
        finding,
        channel,
        rule,
        window,
        release,
        deploy,
        link,
        token,
        invitation,
        notification,
        monitor,
        check_result,
        status_page,
        component,
        incident,
        incident_update,
        hook,
        prober,
    ]
    objects += list(Membership.objects.filter(organization=acme))
    objects += list(finding.events.all())
    objects += _errors_objects(service)
    objects += _backups_objects(service, alice)
    objects += _dependencies_objects(service, alice)
    objects += _security_objects(service, alice)
    markers = ["Zeppelin", "zeppelin.invitee@example.org", "alice@example.org", "bob@example.org"]
    return {
        "service": service,
        "objects": objects,
        "markers": markers,
        "acme": acme,
        "globex": other_org,
        "own_service": _own_service(other_org),
        "own": {other_org.slug, "globex-shop"},  # charlie's own slugs: a path with only these is not acme's
    }


def _own_service(globex):
    """Return charlie's own service (made again if a request of his deleted it): slug parameters are
    filled with it as well as with acme's, so that `/s/globex-shop/proposals/<acme's id>/` is walked too."""
    service, _ = Service.objects.get_or_create(
        organization=globex, slug="globex-shop", defaults={"name": "Globex Shop"}
    )
    return service


def _errors_objects(service):
    """Return one acme object of every model of the errors app: a DSN, a group with an event, and the rest."""
    from keepwell.errors.models import (
        Dsn,
        ErrorEvent,
        ErrorGroup,
        EventAttachment,
        GroupHour,
        GroupTag,
        RawEnvelope,
        ReleaseSession,
        SessionBucket,
        UserReport,
    )

    now = timezone.now()
    dsn = Dsn.issue(service, label="Zeppelin browser key")
    event_id = uuid.uuid4().hex
    envelope = RawEnvelope.objects.create(
        dsn=dsn, service=service, body=b'{"message": "Zeppelin envelope"}', event_id=event_id
    )
    group = ErrorGroup.objects.create(
        organization=service.organization,
        service=service,
        fingerprint="zeppelin0fingerprint",
        title="ZeppelinError: the Zeppelin group",
        culprit="zeppelin.views in crash",
        type="ZeppelinError",
        count=1,
        users=1,
        last_release="9.8.7-zeppelin",
    )
    data = {
        "title": "ZeppelinError: the Zeppelin event",
        "message": "Zeppelin message",
        "exceptions": [
            {
                "type": "ZeppelinError",
                "value": "Zeppelin value",
                "frames": [{"filename": "zeppelin.py", "function": "crash", "lineno": 1, "in_app": True}],
            }
        ],
        "user": {"id": "zeppelin-user", "email": "zeppelin.user@example.org"},
        "tags": {"zeppelin-tag": "Zeppelin tag value"},
    }
    event = ErrorEvent.objects.create(
        group=group,
        service=service,
        event_id=event_id,
        timestamp=now,
        title="ZeppelinError: the Zeppelin event",
        release="9.8.7-zeppelin",
        environment="zeppelin-prod",
        user_key="id:zeppelin-user",
        data=ErrorEvent.pack(data),
    )
    attachment = EventAttachment.objects.create(
        service=service,
        event_id=event_id,
        filename="zeppelin.txt",
        content_type="text/plain",
        size=len(b"Zeppelin attachment"),
        data=b"Zeppelin attachment",
    )
    report = UserReport.objects.create(
        service=service,
        event_id=event_id,
        name="Zeppelin reporter",
        email="zeppelin.reporter@example.org",
        comments="Zeppelin comments",
    )
    tag = GroupTag.objects.create(group=group, key="release", value="9.8.7-zeppelin", count=1)
    hour = GroupHour.objects.create(group=group, hour=now.replace(minute=0, second=0, microsecond=0), count=1)
    session = ReleaseSession.objects.create(
        service=service,
        sid=uuid.uuid4().hex,
        distinct_id="zeppelin-user",
        release="9.8.7-zeppelin",
        environment="zeppelin-prod",
        started=now,
        errors=1,
    )
    bucket = SessionBucket.objects.create(
        service=service, release="9.8.7-zeppelin", environment="zeppelin-prod", started=now, exited=1
    )
    return [dsn, envelope, group, event, attachment, report, tag, hour, session, bucket]


def _backups_objects(service, alice):
    """Return one acme object of every model of the backups app: a repository, a plan, a run, a sample."""
    from keepwell.backups.models import Plan, Repository, Run, StorageSample

    now = timezone.now()
    repository = Repository.objects.create(
        organization=service.organization,
        location="/srv/backups/zeppelin-repository",
        password="dummy zeppelin password",
        env={"ZEPPELIN_DUMMY": "dummy"},
    )
    sample = StorageSample.objects.create(
        repository=repository, total_size=12345, bytes_added=123, snapshots=1
    )
    plan = Plan.objects.create(
        organization=service.organization,
        service=service,
        name="Zeppelin backup plan",
        repository=repository,
        sources=[{"kind": "path", "paths": ["/srv/zeppelin"], "exclude": []}],
        verify_command="zeppelin-verify",
        drill_schedule="",
    )
    run = Run.objects.create(
        plan=plan,
        kind=Run.Kind.BACKUP,
        state=Run.State.FAILED,
        trigger=Run.Trigger.WEB,
        requested_by=alice,
        started=now,
        finished=now,
        duration=1.5,
        sources=list(plan.sources),
        error_kind="zeppelin",
        error_message="Zeppelin backup failed",
        output="Zeppelin output",
        progress_message="Zeppelin progress",
    )
    return [repository, sample, plan, run]


def _dependencies_objects(service, alice):
    """Return one acme object of every model of the dependencies app: a scan with its rows, a proposal."""
    from keepwell.dependencies.models import Proposal, RuntimeStatus, Scan, ScannedDependency

    now = timezone.now()
    scan = Scan.objects.create(
        service=service,
        status=Scan.Status.DONE,
        started=now,
        finished=now,
        dependencies=1,
        total_libyears=1.5,
        median_libyears=1.5,
        major=1,
        read_errors=["zeppelin/requirements.txt: Zeppelin read error"],
    )
    dependency = ScannedDependency.objects.create(
        scan=scan,
        name="zeppelin-lib",
        ecosystem="PyPI",
        version="1.0.0",
        specifier="==1.0.0",
        source="zeppelin/requirements.txt",
        line=1,
        latest="2.0.0",
        libyears=1.5,
        behind_major=1,
        drift="major",
        deprecated="Zeppelin deprecation",
    )
    runtime = RuntimeStatus.objects.create(
        scan=scan,
        product="python",
        version="3.8",
        cycle="3.8",
        status="eol",
        source="zeppelin/.python-version",
        line=1,
        declared="Zeppelin declared 3.8",
    )
    proposal = Proposal.objects.create(
        service=service,
        ecosystem="PyPI",
        group=Proposal.Group.MAJOR,
        title="Zeppelin proposal: zeppelin-lib 2.0.0",
        changes=[{"name": "zeppelin-lib", "ecosystem": "PyPI", "from": "1.0.0", "to": "2.0.0"}],
        status=Proposal.Status.FAILED,
        mode="patch",
        patch="--- Zeppelin patch",
        output="Zeppelin test output",
        error="Zeppelin error",
        created_by=alice,
    )
    return [scan, dependency, runtime, proposal]


def _security_objects(service, alice):
    """Return one acme object of every model of the security app: vulnerabilities, VEX, secrets, posture."""
    from keepwell.security.models import (
        AcceptedSecret,
        FixDeadline,
        PostureResult,
        SecretFinding,
        SecretScan,
        ServiceVulnerability,
        VexDecision,
        VulnerabilityScan,
        fingerprint,
    )

    now = timezone.now()
    acme = service.organization
    common = {"organization": acme, "service": service}
    vulnerability_scan = VulnerabilityScan.objects.create(
        **common,
        status=VulnerabilityScan.Status.DONE,
        finished=now,
        dependencies=1,
        found=1,
        error="Zeppelin scan note",
        components=[{"name": "zeppelin-lib", "version": "1.0.0", "ecosystem": "PyPI"}],
    )
    vulnerability = ServiceVulnerability.objects.create(
        **common,
        package="zeppelin-lib",
        ecosystem="PyPI",
        version="1.0.0",
        osv_id="GHSA-zepp-elin-0001",
        aliases=["CVE-2099-0001"],
        severity="critical",
        fixed_in="2.0.0",
        summary="Zeppelin vulnerability",
        source_file="zeppelin/requirements.txt",
        source_line=1,
    )
    vex = VexDecision.objects.create(
        **common,
        vulnerability="GHSA-zepp-elin-0001",
        package="zeppelin-lib",
        state=VexDecision.State.NOT_AFFECTED,
        justification="code_not_present",
        detail="Zeppelin VEX detail",
        author=alice,
    )
    secret_scan = SecretScan.objects.create(
        **common, status=SecretScan.Status.DONE, finished=now, files_scanned=1, found=1, error="Zeppelin"
    )
    hashed = "0" * 40
    secret = SecretFinding.objects.create(
        **common,
        fingerprint=fingerprint("Zeppelin/settings.py", hashed, "Secret Keyword"),
        type="Secret Keyword",
        filename="Zeppelin/settings.py",
        line=3,
        hashed_secret=hashed,
        hint="Zepp•••• (12 characters)",
    )
    accepted_hash = "1" * 40
    accepted = AcceptedSecret.objects.create(
        **common,
        fingerprint=fingerprint("zeppelin/fixture.py", accepted_hash, "Secret Keyword"),
        type="Secret Keyword",
        filename="zeppelin/fixture.py",
        hashed_secret=accepted_hash,
        reason="Zeppelin test fixture",
        accepted_by=alice,
    )
    posture = PostureResult.objects.create(
        **common,
        url="https://zeppelin.example/",
        url_hash=PostureResult.hash_url("https://zeppelin.example/"),
        score=55,
        grade="C",
        reasons=[{"test": "csp", "modifier": -25, "text": "Zeppelin reason"}],
        error="Zeppelin posture error",
    )
    deadline = FixDeadline.objects.create(
        **common,
        key="vuln:zeppelin",
        title="Zeppelin deadline",
        severity="critical",
        first_seen=now - timedelta(days=30),
        fix_by=now - timedelta(days=23),
    )
    return [vulnerability_scan, vulnerability, vex, secret_scan, secret, accepted, posture, deadline]


def _words(model) -> set[str]:
    meta = model._meta
    names = {meta.model_name, str(meta.verbose_name), str(meta.verbose_name_plural)}
    return {n.replace(" ", "").lower() for n in names}


def _objects_for(route: str, param: str, objects):
    """Return the acme objects whose ids may fill `param`: those of the model the path names, else all.

    The model is named by the parameter (`dsn_id`, `plan_id`), else by the path segment before it
    (`channels/<int:pk>`, `error-groups/{group_id}`); a segment may prefix the model's name with its
    app's (`backup-plans` names the plan).
    """
    before = re.split(rf"\{{{param}\}}|<(?:\w+:)?{param}>", route)[0]
    segment = [s for s in re.split(r"[/<>{}]", before) if s and ":" not in s][-1:]
    candidates = ([param.removesuffix("_id")] if param.endswith("_id") else []) + segment
    for candidate in candidates:
        word = candidate.lower().rstrip("s").replace("-", "").replace("_", "")
        if len(word) <= 2:
            continue
        named = [o for o in objects if any(word in w for w in _words(type(o)))]
        named = named or [o for o in objects if any(len(w) > 2 and w in word for w in _words(type(o)))]
        if named:
            return named
    return objects


def _values(route: str, param: str, converter: str, world):
    """Return the values to try for one path parameter."""
    objects = world["objects"]
    if param == "org_slug":
        return []  # filled by the caller
    if param == "slug" or converter == "slug":
        return [world["service"].slug, world["own_service"].slug]
    if converter == "uuid" or param == "uuid":
        return [
            str(getattr(o, f.attname))
            for o in objects
            for f in o._meta.concrete_fields
            if isinstance(f, models.UUIDField)
        ] or [str(uuid.uuid4())]
    if converter == "int" or param in ("pk", "id"):
        return sorted({str(o.pk) for o in _objects_for(route, param, objects)}, key=int)
    fields = {  # a string id such as an event's `event_id`: the values of acme's fields of that name
        str(getattr(o, param))
        for o in objects
        if any(f.name == param for f in o._meta.concrete_fields) and getattr(o, param)
    }
    return sorted({str(o.pk) for o in objects} | {world["service"].slug} | fields)


def _web_routes(patterns=None, prefix=""):
    for p in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(p, URLResolver):
            yield from _web_routes(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.name


def _fill_web(route: str, org_slug: str, world):
    """Yield (url, references_acme) for every filling of the route's parameters."""
    params = re.findall(r"<(?:(\w+):)?(\w+)>", route)
    choices = [
        [org_slug] if name == "org_slug" else _values(route, name, conv, world) for conv, name in params
    ]

    def expand(i, path, refs):
        if i == len(params):
            yield "/" + path.lstrip("^").rstrip("$"), refs
            return
        conv, name = params[i]
        pattern = f"<{conv}:{name}>" if conv else f"<{name}>"
        for value in choices[i]:
            is_acme = value not in world["own"]
            yield from expand(i + 1, path.replace(pattern, value, 1), refs or is_acme)

    yield from expand(0, route, False)


def _assert_no_leak(response, markers, what):
    body = response.content.decode(errors="replace")
    leaked = [m for m in markers if m in body]
    assert not leaked, f"{what} answered {response.status_code} showing {leaked}"


@pytest.mark.django_db
def test_it_keeps_every_page_of_an_organization_from_a_non_member(world, charlie):
    client = Client()
    visited = set()
    markers = world["markers"]
    before = _snapshot(world["objects"])
    for route, name in _web_routes():
        if any(route.startswith(p) for p in SKIP_PREFIXES) or name in SKIP_NAMES:
            continue
        for org_slug in (world["acme"].slug, world["globex"].slug):
            for url, refs in _fill_web(route, org_slug, world):
                for method in ("get", "post"):
                    client.force_login(charlie)
                    _own_service(world["globex"])
                    response = getattr(client, method)(url)
                    what = f"{method.upper()} {url} ({name})"
                    visited.add(route)
                    assert response.status_code < 500, what
                    if refs:
                        assert response.status_code in REFUSED, f"{what} answered {response.status_code}"
                    _assert_no_leak(response, markers, what)
    assert len(visited) > 20, f"the walk visited only {sorted(visited)}"
    assert _snapshot(world["objects"]) == before, "a request of charlie's changed acme's data"


@pytest.mark.django_db
def test_it_sends_a_signed_out_visitor_of_every_organization_page_to_sign_in(world):
    client = Client()
    visited = 0
    for route, name in _web_routes():
        if "<slug:org_slug>" not in route or name in SKIP_NAMES:
            continue
        for url, _ in _fill_web(route, world["acme"].slug, world):
            response = client.get(url)
            visited += 1
            assert response.status_code in (302, 404), f"GET {url} answered {response.status_code}"
            if response.status_code == 302:
                assert response["Location"].startswith("/accounts/login/"), url
            _assert_no_leak(response, world["markers"], f"GET {url}")
    assert visited > 15


# --- The API -----------------------------------------------------------------------------------------------


class _Example:
    """Build a request body from a JSON schema, pointing every reference it can at acme's objects."""

    def __init__(self, components, world):
        self.components = components
        self.world = world
        self.refs = False
        self.clock = timezone.now() + timedelta(days=1)

    def _resolve(self, schema):
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def _of(self, model):
        return next((o for o in self.world["objects"] if isinstance(o, model)), None)

    def value(self, schema, name=""):
        schema = self._resolve(schema)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [s for s in schema[key] if self._resolve(s).get("type") != "null"]
                return self.value(options[0], name) if options else None
        kind = schema.get("type")
        words = name.lower().replace("_", "")
        if kind == "object" or "properties" in schema:
            required = set(schema.get("required", []))
            out = {}
            for prop, sub in schema.get("properties", {}).items():
                if prop in required or prop in ("service", "channels", "escalation_channels"):
                    out[prop] = self.value(sub, prop)
            return out
        if kind == "array":
            item = self.value(schema.get("items", {}), name)
            return [item] if item is not None else []
        if kind == "integer":
            for obj in self.world["objects"]:
                if words and any(words.rstrip("s") in w for w in _words(type(obj))):
                    self.refs = True
                    return obj.pk
            return max(schema.get("minimum", 1), 1)
        if kind == "boolean":
            return True
        if kind == "number":
            return schema.get("minimum", 1)
        if "enum" in schema:
            return schema["enum"][0]
        fmt = schema.get("format")
        if fmt == "date-time":
            self.clock += timedelta(hours=1)
            return self.clock.isoformat()
        if fmt == "time":
            return "22:00"
        if name == "service":
            self.refs = True
            return self.world["service"].slug
        if name.endswith("_type"):
            return "core.finding"
        if name.endswith("_id"):
            self.refs = True
            return str(self._of(type(self.world["objects"][1])).pk)
        if "email" in name:
            return "walker@example.org"
        return "walk"


def _fill_api(path, op, world, components):
    """Yield (path, query, body, references_acme) for every filling of the operation's parameters."""
    params = [p for p in op.get("parameters", []) if p["in"] == "path"]
    query, refs = {}, False
    for p in op.get("parameters", []):
        if p["in"] != "query":
            continue
        if p["name"] in ("service", "slug"):
            query[p["name"]], refs = world["service"].slug, True
        elif p["name"] == "channel":
            query["channel"], refs = next(o.pk for o in world["objects"] if isinstance(o, Channel)), True
    body = None
    if "requestBody" in op:
        example = _Example(components, world)
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        body = example.value(schema)
        refs = refs or example.refs

    def expand(i, filled, refs):
        if i == len(params):
            yield filled, query, body, refs
            return
        name = params[i]["name"]
        kind = params[i].get("schema", {}).get("type")
        for value in _values(path, name, "int" if kind == "integer" else "str", world):
            yield from expand(
                i + 1, filled.replace("{" + name + "}", value), refs or value not in world["own"]
            )

    yield from expand(0, path, refs)


@pytest.mark.django_db
def test_it_keeps_every_api_endpoint_from_another_organizations_token(world, charlie_api, client):
    schema = client.get("/api/v1/openapi.json").json()
    components = schema.get("components", {}).get("schemas", {})
    markers = world["markers"]
    before = _snapshot(world["objects"])
    visited = set()
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            for url, query, body, refs in _fill_api(path, op, world, components):
                call = getattr(charlie_api, method)
                _own_service(world["globex"])
                if method == "get":
                    response = call(url, query or None)
                else:
                    target = url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
                    response = call(target, body if body is not None else None)
                what = f"{method.upper()} {url} {query or ''} {body or ''}"
                visited.add((method, path))
                assert response.status_code < 500, what
                if refs:
                    assert response.status_code in REFUSED, f"{what} answered {response.status_code}"
                _assert_no_leak(response, markers, what)
    assert len(visited) > 20, f"the walk visited only {sorted(visited)}"
    assert _snapshot(world["objects"]) == before, "a request of charlie's changed acme's data"


def _snapshot(objects):
    """Return every acme object's stored fields, to prove that nothing changed."""
    out = {}
    for obj in objects:
        row = type(obj)._default_manager.filter(pk=obj.pk).values().first()
        if row is not None:
            row.pop("last_used", None)  # a token's use time moves when it authenticates
        out[(obj._meta.label, obj.pk)] = row
    return out
