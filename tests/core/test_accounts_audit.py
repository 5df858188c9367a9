"""The audit log page: the organization's events and its members' sign-ins, for admins and owners only."""

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from keepwell.core import audit
from keepwell.core.models import AuditEvent, Membership, Role, Service

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    }


def audit_url(org="acme", **params):
    from urllib.parse import urlencode

    url = reverse("audit", args=[org])
    return f"{url}?{urlencode(params)}" if params else url


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


def objects_on(response):
    return list(response.context["page_obj"].object_list)


def test_it_shows_changes_made_in_the_organization_with_who_did_them(alice_client, alice, acme):
    with audit.acting_as(alice, "192.0.2.9"):
        Service.objects.create(organization=acme, name="Billing", slug="billing")
    response = alice_client.get(audit_url())
    assert response.status_code == 200
    event = objects_on(response)[0]
    assert (event.action, event.object_repr, event.actor, event.ip) == (
        "create",
        "Billing",
        alice,
        "192.0.2.9",
    )
    body = response.content.decode()
    assert "Billing" in body and "192.0.2.9" in body


def test_it_includes_the_sign_ins_of_members_and_not_of_others(acme, alice, bob, charlie):
    for who in (bob, charlie):
        Client().post(
            reverse("login"), {"username": who.email, "password": PASSWORD}, REMOTE_ADDR="198.51.100.1"
        )
    Client().post(reverse("login"), {"username": bob.email, "password": "wrong"}, REMOTE_ADDR="198.51.100.2")
    Client().post(reverse("login"), {"username": charlie.email, "password": "wrong"})
    events = objects_on(client_for(alice).get(audit_url()))
    labels = {(e.action, e.actor_label) for e in events}
    assert ("login", "bob@example.org") in labels
    assert ("login_failed", "bob@example.org") in labels
    assert not any("charlie" in label for _, label in labels)


def test_it_filters_by_action_and_actor_and_searches(acme, alice, bob):
    with audit.acting_as(alice):
        Service.objects.create(organization=acme, name="Billing", slug="billing")
    with audit.acting_as(bob):
        Service.objects.create(organization=acme, name="Search", slug="search")
        Service.objects.filter(slug="search").first().delete()
    c = client_for(alice)
    assert {e.object_repr for e in objects_on(c.get(audit_url(action="delete")))} == {"Search"}
    assert {e.object_repr for e in objects_on(c.get(audit_url(actor="alice@example.org")))} >= {"Billing"}
    assert "Search" not in {e.object_repr for e in objects_on(c.get(audit_url(actor="alice@example.org")))}
    assert {e.object_repr for e in objects_on(c.get(audit_url(q="billi")))} == {"Billing"}
    page = c.get(audit_url(q="no such thing")).content.decode()
    assert "No events match" in page


def test_it_paginates_and_keeps_the_filters_in_page_links(alice_client, alice, acme):
    AuditEvent.objects.bulk_create(
        AuditEvent(
            organization=acme, actor=alice, actor_label=alice.email, action="update", object_repr=f"o{i}"
        )
        for i in range(30)
    )
    response = alice_client.get(audit_url(action="update"))
    assert len(objects_on(response)) == 25
    assert "?action=update&amp;page=2" in response.content.decode()
    assert len(objects_on(alice_client.get(audit_url(action="update", page=2)))) == 5


def test_only_admins_and_owners_read_the_audit_log(acme, alice, bob, victor, charlie):
    assert client_for(bob).get(audit_url()).status_code == 403
    assert client_for(victor).get(audit_url()).status_code == 403
    assert client_for(charlie).get(audit_url()).status_code == 404
    Membership.objects.filter(user=bob).update(role=Role.ADMIN)
    assert client_for(bob).get(audit_url()).status_code == 200


def test_it_never_shows_another_organizations_events(alice_client, other_org, charlie):
    with audit.acting_as(charlie):
        Service.objects.create(organization=other_org, name="Globex secret", slug="secret")
    assert "Globex secret" not in alice_client.get(audit_url()).content.decode()


def test_an_empty_log_says_what_will_appear(alice_client, db):
    AuditEvent.objects.all().delete()
    assert "Nothing recorded yet" in alice_client.get(audit_url()).content.decode()
