"""Deleting an organization: its children's cascaded deletes must not leave audit rows pointing at it."""

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from keepwell.backups.models import Plan, Repository
from keepwell.core import audit
from keepwell.core.models import AuditEvent, Channel, Membership, Organization, Role, Service
from keepwell.monitoring.models import Monitor


def populate(org):
    service = Service.objects.create(organization=org, name=f"{org.name} API", slug="api")
    Channel.objects.create(organization=org, name="Ops mail", kind=Channel.Kind.EMAIL)
    Monitor.objects.create(organization=org, service=service, name="Home", target="https://example.org/")
    repository = Repository.for_location(org, "/srv/backups", "pw")
    Plan.objects.create(organization=org, service=service, name="Nightly", repository=repository)
    return service


def dangling():
    """Audit events whose organization no longer exists."""
    return AuditEvent.objects.exclude(organization=None).exclude(
        organization_id__in=Organization.objects.values("pk")
    )


@pytest.mark.django_db(transaction=True)
def test_deleting_an_organization_commits_and_keeps_one_event_for_it(acme, alice, other_org, charlie):
    populate(acme)
    populate(other_org)
    acme_pk = acme.pk
    others_before = AuditEvent.objects.filter(organization=other_org).count()
    with audit.acting_as(charlie, "192.0.2.7"), transaction.atomic():  # commits: deferred FKs are checked
        acme.delete()
    assert not dangling().exists()
    assert not AuditEvent.objects.filter(organization_id=acme_pk).exists()
    (event,) = AuditEvent.objects.filter(object_type="core.organization", action="delete")
    assert (event.organization, event.object_id, event.object_repr) == (None, str(acme_pk), "Acme")
    assert (event.actor, event.ip, event.changes["slug"]) == (charlie, "192.0.2.7", "acme")
    # Nothing was written for the rows that went with it, and the other organization's log is untouched.
    assert not AuditEvent.objects.filter(action="delete").exclude(pk=event.pk).exists()
    assert AuditEvent.objects.filter(organization=other_org).count() == others_before


@pytest.mark.django_db(transaction=True)
def test_deleting_organizations_through_a_queryset_commits(acme, alice, other_org, charlie):
    populate(acme)
    populate(other_org)
    with transaction.atomic():
        Organization.objects.filter(slug__in=["acme", "globex"]).delete()
    assert not dangling().exists()
    assert AuditEvent.objects.filter(action="delete").count() == 2
    assert set(AuditEvent.objects.filter(action="delete").values_list("object_repr", flat=True)) == {
        "Acme",
        "Globex",
    }


def test_deleting_an_organization_leaves_no_dangling_audit_rows(acme, alice, bob):
    populate(acme)
    acme.delete()
    assert not dangling().exists()
    connection.check_constraints()  # what the commit would do (SQLite and PostgreSQL defer FK checks)


def test_deleting_a_service_still_records_what_went_with_it(acme, alice):
    service = populate(acme)
    with audit.acting_as(alice):
        service.delete()
    deleted = set(
        AuditEvent.objects.filter(action="delete", organization=acme).values_list(
            "object_type", "object_repr"
        )
    )
    assert {("core.service", "Acme API"), ("monitoring.monitor", "Home")} <= deleted
    assert any(t == "backups.plan" for t, _ in deleted)


def test_an_organizations_deletion_is_not_shown_in_the_deleters_other_organizations(acme, alice, other_org):
    Membership.objects.create(organization=other_org, user=alice, role=Role.OWNER)
    populate(acme)
    with audit.acting_as(alice):
        acme.delete()
    assert AuditEvent.objects.filter(action="delete", object_type="core.organization", actor=alice).exists()
    c = Client()
    c.force_login(alice)
    response = c.get(reverse("audit", args=["globex"]))
    assert response.status_code == 200
    assert "Acme" not in response.content.decode()
