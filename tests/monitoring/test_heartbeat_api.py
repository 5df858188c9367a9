"""The heartbeat API: /api/v1/services/{slug}/heartbeats[/{uuid}[/pause|/resume|/pings]] and /api/v1/ping-key."""

import uuid

import pytest
from django.test import Client

from keepwell.core.models import ApiToken, Finding, Service
from keepwell.monitoring.models import Heartbeat

BASE = "/api/v1/services/shop-api/heartbeats"


def create(api, **fields):
    return api.post(BASE, {"name": "Nightly backup", "period": 86400, "grace": 3600, **fields})


def test_it_creates_a_period_heartbeat_with_its_uuid_and_ping_url(alice_api, service):
    response = create(alice_api)
    assert response.status_code == 201
    body = response.json()
    assert body["ping_url"] == f"http://testserver/ping/{body['uuid']}"
    assert (body["status"], body["kind"], body["period"], body["grace"]) == ("new", "period", 86400, 3600)
    assert (body["slug"], body["service"], body["n_pings"], body["last_ping"]) == (
        "nightly-backup",
        "shop-api",
        0,
        None,
    )
    assert Heartbeat.objects.get(uuid=body["uuid"]).service == service


def test_it_creates_a_cron_heartbeat_in_a_time_zone(alice_api, service):
    response = alice_api.post(
        BASE, {"name": "Report", "schedule": "30 2 * * 1-5", "tz": "Europe/Berlin", "grace": 600}
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["schedule"], body["tz"]) == ("cron", "30 2 * * 1-5", "Europe/Berlin")


@pytest.mark.parametrize(
    "fields,field",
    [
        ({"period": None, "schedule": ""}, "period"),
        ({"schedule": "0 3 * * *"}, "schedule"),  # and a period: one or the other
        ({"period": None, "schedule": "not cron at all"}, "schedule"),
        ({"period": None, "schedule": "0 3 * * *", "tz": "Mars/Olympus"}, "tz"),
        ({"period": 59}, "period"),
        ({"grace": 10**12}, "grace"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"slug": "has spaces"}, "slug"),
        ({"schedule": "\x00"}, "schedule"),
    ],
)
def test_it_refuses_a_bad_heartbeat_with_a_422_naming_the_field(alice_api, service, fields, field):
    response = create(alice_api, **fields)
    assert response.status_code == 422, response.content
    assert field in response.content.decode()
    assert not Heartbeat.objects.exists()


def test_it_answers_status_last_ping_and_n_pings_after_pings(alice_api, service):
    hb = create(alice_api).json()
    client = Client()
    client.get(f"/ping/{hb['uuid']}/start")
    client.post(f"/ping/{hb['uuid']}", b"done", content_type="text/plain")
    body = alice_api.get(f"{BASE}/{hb['uuid']}").json()
    assert body["status"] == "up"
    assert body["n_pings"] == 2
    assert body["last_ping"] is not None and body["last_duration"] is not None
    assert body["alert_after"] is not None


def test_it_lists_a_service_s_heartbeats_with_a_status_filter(alice_api, service):
    first = create(alice_api, name="A job").json()
    create(alice_api, name="B job")
    Client().get(f"/ping/{first['uuid']}/fail")
    listing = alice_api.get(BASE).json()
    assert listing["count"] == 2
    assert [i["name"] for i in listing["items"]] == ["A job", "B job"]
    down = alice_api.get(BASE, {"status": "down"}).json()
    assert [i["name"] for i in down["items"]] == ["A job"]
    assert alice_api.get(BASE, {"status": "sideways"}).status_code == 422


def test_it_changes_a_heartbeat_and_moves_its_deadline(alice_api, service):
    hb = create(alice_api).json()
    Client().get(f"/ping/{hb['uuid']}")
    before = alice_api.get(f"{BASE}/{hb['uuid']}").json()["alert_after"]
    response = alice_api.patch(f"{BASE}/{hb['uuid']}", {"period": 3600, "grace": 60, "name": "Hourly backup"})
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["period"], body["grace"]) == ("Hourly backup", 3600, 60)
    assert body["alert_after"] < before


def test_patch_switches_between_period_and_cron(alice_api, service):
    hb = create(alice_api).json()
    body = alice_api.patch(f"{BASE}/{hb['uuid']}", {"schedule": "0 4 * * *"}).json()
    assert (body["kind"], body["schedule"]) == ("cron", "0 4 * * *")
    body = alice_api.patch(f"{BASE}/{hb['uuid']}", {"period": 600}).json()
    assert (body["kind"], body["schedule"], body["period"]) == ("period", "", 600)


@pytest.mark.parametrize("fields", [{"name": None}, {"schedule": "61 * * * *"}, {"tz": "Nowhere/Else"}])
def test_patch_refuses_bad_values(alice_api, service, fields):
    hb = create(alice_api).json()
    assert alice_api.patch(f"{BASE}/{hb['uuid']}", fields).status_code == 422
    assert Heartbeat.objects.get(uuid=hb["uuid"]).name == "Nightly backup"


def test_pause_and_resume(alice_api, service):
    hb = create(alice_api).json()
    Client().get(f"/ping/{hb['uuid']}/fail")
    assert alice_api.post(f"{BASE}/{hb['uuid']}/pause").json()["status"] == "paused"
    assert Finding.objects.get(key=f"heartbeat:{hb['uuid']}").state == "resolved"
    body = alice_api.post(f"{BASE}/{hb['uuid']}/resume").json()
    assert body["status"] == "new" and body["alert_after"] is None


def test_delete_removes_the_heartbeat_and_its_pings(alice_api, service):
    hb = create(alice_api).json()
    Client().get(f"/ping/{hb['uuid']}")
    assert alice_api.delete(f"{BASE}/{hb['uuid']}").status_code == 204
    assert not Heartbeat.objects.exists()
    assert alice_api.get(f"{BASE}/{hb['uuid']}").status_code == 404


def test_the_ping_log_shows_bodies_newest_first(alice_api, service):
    hb = create(alice_api).json()
    client = Client()
    client.post(f"/ping/{hb['uuid']}/start", b"starting", content_type="text/plain")
    client.post(f"/ping/{hb['uuid']}/2", b"\xff broken utf-8", content_type="text/plain")
    log = alice_api.get(f"{BASE}/{hb['uuid']}/pings").json()
    assert log["count"] == 2
    assert [(p["n"], p["kind"], p["exit_status"]) for p in log["items"]] == [
        (2, "fail", 2),
        (1, "start", None),
    ]
    assert log["items"][0]["body"] == "\ufffd broken utf-8"
    assert log["items"][1]["body"] == "starting"
    only = alice_api.get(f"{BASE}/{hb['uuid']}/pings", {"kind": "start"}).json()
    assert [p["n"] for p in only["items"]] == [1]


def test_a_viewer_reads_but_may_not_create(alice_api, victor, acme, service):
    create(alice_api)
    _, token = ApiToken.issue(acme, victor, write=True)
    headers = {"Authorization": f"Bearer {token}"}
    viewer = Client()
    assert viewer.get(BASE, headers=headers).json()["count"] == 1
    response = viewer.post(
        BASE, {"name": "x", "period": 60}, content_type="application/json", headers=headers
    )
    assert response.status_code == 403
    assert Heartbeat.objects.count() == 1


def test_a_read_only_token_may_not_create(alice_api_readonly, service):
    assert create(alice_api_readonly).status_code == 403


def test_another_organization_sees_none_of_it(alice_api, charlie_api, service, other_org):
    hb = create(alice_api).json()
    Service.objects.create(organization=other_org, name="Shop API", slug="shop-api")
    assert charlie_api.get(f"{BASE}/{hb['uuid']}").status_code == 404
    assert charlie_api.get(BASE).json()["count"] == 0
    assert charlie_api.post(f"{BASE}/{hb['uuid']}/pause").status_code == 404
    assert charlie_api.delete(f"{BASE}/{hb['uuid']}").status_code == 404
    assert Heartbeat.objects.get(uuid=hb["uuid"]).status == "new"


def test_an_unknown_heartbeat_or_malformed_uuid_is_refused(alice_api, service):
    assert alice_api.get(f"{BASE}/{uuid.uuid4()}").status_code == 404
    assert alice_api.get(f"{BASE}/not-a-uuid").status_code == 422
    assert alice_api.get("/api/v1/services/nope/heartbeats").status_code == 404


def test_the_ping_key_is_created_rotated_and_read(alice_api, acme, service):
    assert alice_api.get("/api/v1/ping-key").status_code == 404
    first = alice_api.post("/api/v1/ping-key").json()
    assert first["url_prefix"] == f"http://testserver/ping/{first['key']}"
    assert alice_api.get("/api/v1/ping-key").json()["key"] == first["key"]
    second = alice_api.post("/api/v1/ping-key").json()
    assert second["key"] != first["key"]
    hb = create(alice_api).json()
    assert Client().get(f"/ping/{second['key']}/{hb['slug']}").status_code == 200
