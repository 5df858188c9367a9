"""The team's status-page pages: members shape pages and post incidents; viewers look; hooks show once."""

import pytest
from django.core.cache import cache
from django.test import Client

from keepwell.monitoring.models import (
    AlertmanagerHook,
    Heartbeat,
    Incident,
    Monitor,
    StatusComponent,
    StatusPage,
)


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


@pytest.fixture
def page(acme):
    return StatusPage.objects.create(organization=acme, slug="acme-status", title="Acme status")


@pytest.fixture
def bob_client(bob):
    client = Client()
    client.force_login(bob)
    return client


@pytest.fixture
def victor_client(victor):
    client = Client()
    client.force_login(victor)
    return client


def test_a_member_creates_a_page_and_it_goes_public(bob_client):
    response = bob_client.post(
        "/o/acme/status-pages/new", {"title": "Shop status", "slug": "shop", "published": "on"}
    )
    page = StatusPage.objects.get(slug="shop")
    assert response.status_code == 302 and response["Location"] == f"/o/acme/status-pages/{page.pk}/"
    assert Client().get("/status/shop/").status_code == 200


def test_a_taken_address_is_refused_with_a_message(bob_client, page, other_org):
    StatusPage.objects.create(organization=other_org, slug="taken", title="Theirs")
    response = bob_client.post("/o/acme/status-pages/new", {"title": "Mine", "slug": "taken"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    response = bob_client.post("/o/acme/status-pages/new", {"title": "Mine", "slug": "Not A Slug!"})
    assert 'class="errorlist"' in response.content.decode()
    assert not StatusPage.objects.filter(title="Mine").exists()


def test_a_component_can_show_only_the_organizations_own_monitors(bob_client, page, service, other_org):
    mine = Monitor.objects.create(organization=page.organization, service=service, name="API", target="x")
    beat = Heartbeat.objects.create(organization=page.organization, service=service, name="Backup")
    from keepwell.core.models import Service

    theirs_service = Service.objects.create(organization=other_org, name="Theirs", slug="theirs")
    theirs = Monitor.objects.create(organization=other_org, service=theirs_service, name="Theirs", target="x")
    form = bob_client.get(f"/o/acme/status-pages/{page.pk}/components/new").content.decode()
    assert "API" in form and "Backup" in form and "Theirs" not in form
    response = bob_client.post(
        f"/o/acme/status-pages/{page.pk}/components/new",
        {"name": "Checkout", "position": 1, "monitors": [theirs.pk]},
    )
    assert response.status_code == 200 and not StatusComponent.objects.exists()
    bob_client.post(
        f"/o/acme/status-pages/{page.pk}/components/new",
        {"name": "Checkout", "position": 1, "monitors": [mine.pk], "heartbeats": [beat.pk]},
    )
    component = StatusComponent.objects.get()
    assert list(component.monitors.all()) == [mine] and list(component.heartbeats.all()) == [beat]


def test_a_member_posts_an_incident_and_its_updates_in_time_order(bob_client, page):
    component = StatusComponent.objects.create(page=page, name="Checkout")
    response = bob_client.post(
        f"/o/acme/status-pages/{page.pk}/incidents/new",
        {
            "title": "Payments failing",
            "status": "investigating",
            "components": [component.pk],
            "body": "Looking.",
        },
    )
    incident = Incident.objects.get()
    assert response["Location"] == f"/o/acme/status-pages/{page.pk}/incidents/{incident.pk}/"
    assert list(incident.components.all()) == [component]
    bob_client.post(
        f"/o/acme/status-pages/{page.pk}/incidents/{incident.pk}/updates",
        {"status": "resolved", "body": "Fixed."},
    )
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.resolved is not None
    assert [u.body for u in incident.updates.all()] == ["Fixed.", "Looking."]
    detail = bob_client.get(f"/o/acme/status-pages/{page.pk}/incidents/{incident.pk}/").content.decode()
    assert detail.index("Fixed.") < detail.index("Looking.")
    assert "Fixed." in Client().get("/status/acme-status/").content.decode()


def test_an_empty_update_is_refused_and_changes_nothing(bob_client, page):
    incident = Incident.objects.create(page=page, title="Slow")
    response = bob_client.post(
        f"/o/acme/status-pages/{page.pk}/incidents/{incident.pk}/updates", {"status": "resolved", "body": ""}
    )
    assert response.status_code == 400
    incident.refresh_from_db()
    assert incident.status == "investigating" and not incident.updates.exists()


def test_a_viewer_may_look_but_not_change_anything(victor_client, page):
    assert victor_client.get("/o/acme/status-pages/").status_code == 200
    assert victor_client.get(f"/o/acme/status-pages/{page.pk}/").status_code == 200
    assert victor_client.post("/o/acme/status-pages/new", {"title": "X", "slug": "x"}).status_code == 403
    incident_new = f"/o/acme/status-pages/{page.pk}/incidents/new"
    assert victor_client.post(incident_new, {"title": "X", "body": "y"}).status_code == 403
    assert victor_client.post(f"/o/acme/status-pages/{page.pk}/delete").status_code == 403
    assert StatusPage.objects.count() == 1 and not Incident.objects.exists()


def test_deleting_a_page_takes_its_public_address_down(bob_client, page):
    assert Client().get("/status/acme-status/").status_code == 200
    assert bob_client.get(f"/o/acme/status-pages/{page.pk}/delete").status_code == 200
    bob_client.post(f"/o/acme/status-pages/{page.pk}/delete")
    assert not StatusPage.objects.exists()
    assert Client().get("/status/acme-status/").status_code == 404


def test_a_hook_shows_its_url_once_and_then_only_its_prefix(bob_client, service):
    response = bob_client.post("/o/acme/status-pages/hooks/new", {"service": service.pk, "name": "Prom"})
    html = response.content.decode()
    hook = AlertmanagerHook.objects.get()
    token = html.split("/hooks/alertmanager/")[1].split('"')[0].split("<")[0]
    assert AlertmanagerHook.find(token) == hook
    assert "send_resolved: true" in html
    assert response["Cache-Control"] == "no-store"
    listing = bob_client.get("/o/acme/status-pages/hooks/").content.decode()
    assert token not in listing and hook.prefix in listing
    bob_client.post(f"/o/acme/status-pages/hooks/{hook.pk}/delete")
    assert not AlertmanagerHook.objects.exists()


def test_another_organizations_member_reaches_nothing(charlie_client, page, service):
    hook, _ = AlertmanagerHook.issue(service)
    incident = Incident.objects.create(page=page, title="Secret")
    for url in (
        "/o/acme/status-pages/",
        f"/o/acme/status-pages/{page.pk}/",
        f"/o/globex/status-pages/{page.pk}/",
        f"/o/globex/status-pages/{page.pk}/edit",
        f"/o/globex/status-pages/{page.pk}/incidents/{incident.pk}/",
        f"/o/globex/status-pages/hooks/{hook.pk}/delete",
    ):
        assert charlie_client.get(url).status_code == 404, url
        assert charlie_client.post(url).status_code in (404, 405), url
    assert StatusPage.objects.filter(pk=page.pk).exists() and AlertmanagerHook.objects.exists()
