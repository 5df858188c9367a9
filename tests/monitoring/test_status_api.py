"""The API for status pages, components, incidents with updates, and Alertmanager hooks."""

import json

import pytest
from django.core.cache import cache
from django.test import Client

from keepwell.core.models import Finding, Service
from keepwell.monitoring.models import AlertmanagerHook, Heartbeat, Monitor, StatusPage


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


@pytest.fixture
def page(alice_api):
    response = alice_api.post("/api/v1/status-pages", {"title": "Acme status", "slug": "acme-status"})
    assert response.status_code == 201, response.content
    return response.json()


def test_it_creates_lists_changes_and_deletes_a_page(alice_api, page):
    assert page["public_url"] == "http://testserver/status/acme-status/" and page["published"] is True
    listing = alice_api.get("/api/v1/status-pages").json()
    assert listing["count"] == 1 and listing["items"][0]["slug"] == "acme-status"
    changed = alice_api.patch(f"/api/v1/status-pages/{page['id']}", {"title": "Acme", "published": False})
    assert changed.json()["title"] == "Acme" and changed.json()["published"] is False
    assert Client().get("/status/acme-status/").status_code == 404
    assert alice_api.delete(f"/api/v1/status-pages/{page['id']}").status_code == 204
    assert not StatusPage.objects.exists()


def test_a_taken_slug_is_answered_409(alice_api, page, charlie_api):
    response = charlie_api.post("/api/v1/status-pages", {"title": "Theirs", "slug": "acme-status"})
    assert response.status_code == 409
    assert "/status/acme-status/ is taken" in response.json()["detail"]


def test_components_take_the_organizations_monitors_and_heartbeats(alice_api, page, acme, service, other_org):
    monitor = Monitor.objects.create(
        organization=acme, service=service, name="API", target="x", status="down"
    )
    beat = Heartbeat.objects.create(organization=acme, service=service, name="Backup", status="up")
    url = f"/api/v1/status-pages/{page['id']}/components"
    response = alice_api.post(
        url, {"name": "Checkout", "monitors": [monitor.pk], "heartbeats": [str(beat.uuid)]}
    )
    assert response.status_code == 201
    component = response.json()
    assert component["monitors"] == [monitor.pk] and component["heartbeats"] == [str(beat.uuid)]
    assert component["state"] == "degraded"
    theirs = Service.objects.create(organization=other_org, name="T", slug="t")
    foreign = Monitor.objects.create(organization=other_org, service=theirs, name="T", target="x")
    refused = alice_api.patch(f"{url}/{component['id']}", {"monitors": [foreign.pk]})
    assert refused.status_code == 422
    assert f"no monitor {foreign.pk} in this organization" in refused.json()["detail"]
    moved = alice_api.patch(f"{url}/{component['id']}", {"position": 3, "heartbeats": []}).json()
    assert moved["position"] == 3 and moved["heartbeats"] == [] and moved["state"] == "outage"
    assert [c["name"] for c in alice_api.get(url).json()] == ["Checkout"]
    assert alice_api.delete(f"{url}/{component['id']}").status_code == 204


def test_an_incident_and_its_updates_show_on_the_public_page(alice_api, page):
    base = f"/api/v1/status-pages/{page['id']}/incidents"
    component = alice_api.post(f"/api/v1/status-pages/{page['id']}/components", {"name": "API"}).json()
    Client().get("/status/acme-status/")  # fill the cache
    created = alice_api.post(
        base, {"title": "Errors on checkout", "body": "Investigating.", "components": [component["id"]]}
    )
    assert created.status_code == 201
    incident = created.json()
    assert incident["status"] == "investigating" and incident["components"] == [component["id"]]
    assert [u["body"] for u in incident["updates"]] == ["Investigating."]
    assert "Errors on checkout" in Client().get("/status/acme-status/").content.decode()
    update = alice_api.post(f"{base}/{incident['id']}/updates", {"status": "resolved", "body": "Fixed."})
    assert update.status_code == 201
    resolved = update.json()
    assert resolved["status"] == "resolved" and resolved["resolved"] is not None
    assert [u["status"] for u in resolved["updates"]] == ["resolved", "investigating"]
    assert alice_api.get(base, {"status": "resolved"}).json()["count"] == 1
    assert alice_api.get(base, {"status": "investigating"}).json()["count"] == 0
    renamed = alice_api.patch(
        f"{base}/{incident['id']}", {"title": "Checkout errors", "components": []}
    ).json()
    assert renamed["title"] == "Checkout errors" and renamed["components"] == []
    assert alice_api.delete(f"{base}/{incident['id']}").status_code == 204


@pytest.mark.parametrize(
    "body",
    [
        {"title": "X", "body": ""},
        {"title": "X", "body": "y", "status": "on fire"},
        {"title": "", "body": "y"},
        {"title": "X", "body": "y", "components": [987654]},
        {"title": "X\x00", "body": "y"},
    ],
)
def test_a_bad_incident_is_refused_with_422(alice_api, page, body):
    response = alice_api.post(f"/api/v1/status-pages/{page['id']}/incidents", body)
    assert response.status_code == 422 and response.json()["detail"]


def test_a_viewer_or_a_read_only_token_changes_nothing(alice_api_readonly, page):
    assert alice_api_readonly.get(f"/api/v1/status-pages/{page['id']}").status_code == 200
    response = alice_api_readonly.post(
        f"/api/v1/status-pages/{page['id']}/incidents", {"title": "X", "body": "y"}
    )
    assert response.status_code == 403


def test_another_organization_sees_no_page(charlie_api, page):
    assert charlie_api.get(f"/api/v1/status-pages/{page['id']}").status_code == 404
    assert charlie_api.get("/api/v1/status-pages").json()["count"] == 0
    response = charlie_api.post(f"/api/v1/status-pages/{page['id']}/incidents", {"title": "X", "body": "y"})
    assert response.status_code == 404


def test_a_hook_created_through_the_api_receives_alerts(alice_api, service):
    response = alice_api.post("/api/v1/services/shop-api/alertmanager-hooks", {"name": "Prometheus"})
    assert response.status_code == 201
    hook = response.json()
    assert hook["service"] == "shop-api" and hook["url"].startswith(
        "http://testserver/hooks/alertmanager/kwam_"
    )
    listed = alice_api.get("/api/v1/services/shop-api/alertmanager-hooks").json()
    assert listed[0]["prefix"] == hook["prefix"] and "url" not in listed[0]
    body = {
        "version": "4",
        "status": "firing",
        "alerts": [{"status": "firing", "labels": {"alertname": "Down"}}],
    }
    path = hook["url"].removeprefix("http://testserver")
    assert Client().post(path, json.dumps(body), content_type="application/json").status_code == 200
    assert Finding.objects.get(source="alertmanager").title == "Down"
    assert alice_api.delete(f"/api/v1/services/shop-api/alertmanager-hooks/{hook['id']}").status_code == 204
    assert not AlertmanagerHook.objects.exists()
    assert Client().post(path, json.dumps(body), content_type="application/json").status_code == 404
