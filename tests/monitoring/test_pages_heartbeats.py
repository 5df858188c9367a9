"""The heartbeat pages: the list with ping URLs, create and edit (period + grace, or cron + time zone), pause and
resume, and a heartbeat's page with its ping log, bodies escaped and truncated."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from keepwell.core.findings import raise_finding
from keepwell.core.models import Finding
from keepwell.monitoring.models import Heartbeat

pytestmark = pytest.mark.django_db


def _heartbeat(service, name, **fields):
    return Heartbeat.objects.create(organization=service.organization, service=service, name=name, **fields)


def _form(service, **fields):
    data = {"name": "Nightly backup", "service": service.pk, "kind": "period", "period": "1d", "grace": "1h",
            "tz": "UTC"}  # fmt: skip
    data.update(fields)
    return data


def _ping(path, body=b"", **extra):
    """Ping the way a cron line does, through the real ping endpoint."""
    return Client().post(path, body, content_type="text/plain", **extra)


def test_it_says_what_a_heartbeat_is_when_there_are_none(alice_client, service):
    html = alice_client.get(reverse("heartbeats", args=["acme"])).text
    assert "No heartbeats yet" in html and "Healthchecks" in html


def test_it_lists_heartbeats_down_first_with_their_ping_urls(alice_client, service):
    up = _heartbeat(service, "Alpha hourly", status="up", period=3600)
    _heartbeat(service, "Zulu backup", status="down", kind="cron", schedule="0 3 * * *", tz="Europe/Berlin")
    html = alice_client.get(reverse("heartbeats", args=["acme"])).text
    assert html.index("Zulu backup") < html.index("Alpha hourly")
    assert f"http://testserver/ping/{up.uuid}" in html
    assert f'data-copy="http://testserver/ping/{up.uuid}"' in html
    assert "<code>0 3 * * *</code>" in html and "Europe/Berlin" in html
    assert "every 1 h" in html


@pytest.mark.parametrize(
    "params, shown, hidden",
    [
        ({"status": "down"}, ["Zulu backup"], ["Alpha hourly"]),
        ({"q": "alpha"}, ["Alpha hourly"], ["Zulu backup"]),
        ({"service": "nope"}, [], ["Alpha hourly", "Zulu backup"]),
        ({"q": "\x00" + "x" * 5000, "page": "many"}, [], ["Alpha hourly"]),
    ],
)
def test_it_filters_the_heartbeat_list(alice_client, service, params, shown, hidden):
    _heartbeat(service, "Alpha hourly", status="up")
    _heartbeat(service, "Zulu backup", status="down")
    response = alice_client.get(reverse("heartbeats", args=["acme"]), params)
    assert response.status_code == 200
    for name in shown:
        assert name in response.text
    for name in hidden:
        assert name not in response.text


def test_it_creates_a_heartbeat_with_a_period_and_grace(alice_client, service):
    response = alice_client.post(
        reverse("heartbeat-new", args=["acme"]), _form(service, slug="Nightly-Backup")
    )
    heartbeat = Heartbeat.objects.get()
    assert response["Location"] == reverse("heartbeat", args=["acme", heartbeat.uuid])
    assert (heartbeat.kind, heartbeat.period, heartbeat.grace, heartbeat.slug) == (
        "period",
        86400,
        3600,
        "nightly-backup",
    )
    assert heartbeat.status == "new"
    html = alice_client.get(response["Location"]).text
    assert heartbeat.ping_url in html and "No pings yet" in html


def test_it_creates_a_heartbeat_on_a_cron_schedule_in_a_time_zone(alice_client, service):
    alice_client.post(
        reverse("heartbeat-new", args=["acme"]),
        _form(service, kind="cron", period="", schedule="  30 2  * * 1-5 ", tz="Europe/Berlin", grace="15m"),
    )
    heartbeat = Heartbeat.objects.get()
    assert (heartbeat.kind, heartbeat.schedule, heartbeat.tz, heartbeat.grace) == (
        "cron",
        "30 2 * * 1-5",
        "Europe/Berlin",
        900,
    )


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"kind": "cron", "schedule": "every night"}, "schedule", "five fields"),
        ({"kind": "cron", "schedule": "61 * * * *"}, "schedule", "not a valid cron expression"),
        ({"kind": "cron", "schedule": ""}, "schedule", "Enter the job's cron expression"),
        ({"kind": "cron", "schedule": "* " * 60}, "schedule", ""),
        ({"tz": "Mars/Olympus_Mons"}, "tz", "is not a time zone"),
        ({"tz": "../../etc/passwd"}, "tz", "is not a time zone"),
        ({"period": "30s"}, "period", "Choose between 1m and"),
        ({"period": ""}, "period", "how often the job runs"),
        ({"grace": "1 eon"}, "grace", "is not a unit"),
        ({"kind": "sometimes"}, "kind", ""),
        ({"slug": "not a slug!"}, "slug", ""),
    ],
)
def test_it_explains_what_is_wrong_with_a_heartbeat(alice_client, service, fields, field, message):
    response = alice_client.post(reverse("heartbeat-new", args=["acme"]), _form(service, **fields))
    assert response.status_code == 200
    errors = response.context["form"].errors.get(field, [])
    assert errors and message in " ".join(errors)
    assert not Heartbeat.objects.exists()


def test_it_refuses_a_slug_another_heartbeat_uses(alice_client, service):
    _heartbeat(service, "First", slug="backup")
    response = alice_client.post(reverse("heartbeat-new", args=["acme"]), _form(service, slug="backup"))
    assert "uses the slug “backup” already" in " ".join(response.context["form"].errors["slug"])


def test_editing_the_schedule_moves_the_deadline(alice_client, service):
    heartbeat = _heartbeat(service, "Nightly backup", period=86400, grace=3600)
    _ping(f"/ping/{heartbeat.uuid}")
    heartbeat.refresh_from_db()
    before = heartbeat.alert_after
    assert heartbeat.status == "up" and before is not None
    alice_client.post(
        reverse("heartbeat-edit", args=["acme", heartbeat.uuid]), _form(service, period="1h", grace="5m")
    )
    heartbeat.refresh_from_db()
    assert (heartbeat.period, heartbeat.grace) == (3600, 300)
    assert heartbeat.alert_after == heartbeat.last_ping + timedelta(seconds=3900)


def test_pausing_a_heartbeat_resolves_its_finding_and_resuming_waits_for_a_ping(alice_client, service):
    heartbeat = _heartbeat(service, "Nightly backup", status="down")
    raise_finding(
        service, source="monitoring", key=f"heartbeat:{heartbeat.uuid}", title="Nightly backup is down"
    )
    alice_client.post(reverse("heartbeat-pause", args=["acme", heartbeat.uuid]), {"action": "pause"})
    heartbeat.refresh_from_db()
    assert heartbeat.status == "paused"
    assert Finding.objects.get(key=f"heartbeat:{heartbeat.uuid}").state == "resolved"
    html = alice_client.get(reverse("heartbeat", args=["acme", heartbeat.uuid])).text
    assert 'value="resume"' in html
    alice_client.post(reverse("heartbeat-pause", args=["acme", heartbeat.uuid]), {"action": "resume"})
    heartbeat.refresh_from_db()
    assert heartbeat.status == "new"


def test_it_deletes_a_heartbeat_after_asking(alice_client, service):
    heartbeat = _heartbeat(service, "Nightly backup")
    assert (
        "Delete the heartbeat Nightly backup?"
        in alice_client.get(reverse("heartbeat-delete", args=["acme", heartbeat.uuid])).text
    )
    alice_client.post(reverse("heartbeat-delete", args=["acme", heartbeat.uuid]))
    assert not Heartbeat.objects.exists()
    assert Client().get(f"/ping/{heartbeat.uuid}").status_code == 404


def test_the_ping_log_shows_each_ping_with_its_body_escaped_and_truncated(alice_client, service):
    heartbeat = _heartbeat(service, "Nightly backup")
    path = f"/ping/{heartbeat.uuid}"
    assert Client().head(path + "/start").status_code == 200
    assert _ping(path, b"<b>backed up</b> 42 files\n", headers={"user-agent": "curl/8.5"}).status_code == 200
    assert _ping(path + "/3", "é" * 1500 + "tail-marker").status_code == 200
    _ping(path + "/log", b"\xff\xfe not utf-8")
    html = alice_client.get(reverse("heartbeat", args=["acme", heartbeat.uuid])).text
    log = html.split('id="log"', 1)[1]
    assert "&lt;b&gt;backed up&lt;/b&gt; 42 files" in log and "<b>backed up" not in log
    assert "curl/8.5" in log
    assert "only the first 2000 bytes are shown" in log and "tail-marker" not in log
    assert re.search(
        r'class="badge ping-fail">Failure</span></td>\s*<td[^>]*><time[^>]*>[^<]*</time></td>\s*<td>3</td>',
        log,
    )
    assert "\ufffd\ufffd not utf-8" in log
    assert [kind for kind in re.findall(r'class="badge ping-(\w+)"', log)] == [
        "log",
        "fail",
        "success",
        "start",
    ]


def test_the_ping_log_pages_through_many_pings(alice_client, service, django_assert_max_num_queries):
    heartbeat = _heartbeat(service, "Every minute")
    from keepwell.monitoring.heartbeats import record_ping

    start = timezone.now() - timedelta(hours=3)
    for i in range(120):
        record_ping(heartbeat.pk, kind="success", body=b"x" * 50_000, now=start + timedelta(minutes=i))
    with django_assert_max_num_queries(12):
        html = alice_client.get(reverse("heartbeat", args=["acme", heartbeat.uuid])).text
    assert "Page 1 of 3" in html
    assert html.count('class="badge ping-success"') == 50


def test_another_organization_cannot_see_or_pause_a_heartbeat(charlie_client, service):
    heartbeat = _heartbeat(service, "Zeppelin backup")
    assert charlie_client.get(reverse("heartbeat", args=["globex", heartbeat.uuid])).status_code == 404
    assert charlie_client.post(reverse("heartbeat-pause", args=["globex", heartbeat.uuid])).status_code == 404
    assert Heartbeat.objects.get(pk=heartbeat.pk).status == "new"


def test_a_viewer_cannot_change_a_heartbeat(victor, service):
    heartbeat = _heartbeat(service, "Nightly backup")
    client = Client()
    client.force_login(victor)
    html = client.get(reverse("heartbeat", args=["acme", heartbeat.uuid])).text
    assert "Nightly backup" in html and 'value="pause"' not in html
    assert client.post(reverse("heartbeat-pause", args=["acme", heartbeat.uuid])).status_code == 403
    assert (
        client.post(reverse("heartbeat-edit", args=["acme", heartbeat.uuid]), _form(service)).status_code
        == 403
    )
