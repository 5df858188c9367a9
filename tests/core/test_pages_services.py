"""Service pages: create, edit, the service page with findings, practices, releases and activity."""

import pytest
from django.test import Client
from django.urls import reverse

from keepwell.core.findings import acknowledge, raise_finding
from keepwell.core.models import Deploy, Release, Service

pytestmark = pytest.mark.django_db

VALID = {
    "name": "Billing",
    "slug": "billing",
    "description": "Charges customers.",
    "repository": "https://git.example.org/acme/billing.git",
    "environments": "staging, production, staging",
}


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_it_shows_the_new_service_form(alice_client):
    response = alice_client.get(reverse("service-new", args=["acme"]))
    assert response.status_code == 200
    assert '<label for="id_name">' in response.text
    assert "csrfmiddlewaretoken" in response.text


def test_it_creates_a_service(alice_client, alice, bob):
    response = alice_client.post(reverse("service-new", args=["acme"]), {**VALID, "owners": [bob.pk]})
    assert response.status_code == 302
    assert response["Location"] == reverse("service", args=["acme", "billing"])
    service = Service.objects.get(organization__slug="acme", slug="billing")
    assert service.environments == ["staging", "production"]
    assert list(service.owners.all()) == [bob]


def test_a_member_may_create_a_service(bob):
    response = _client(bob).post(reverse("service-new", args=["acme"]), VALID)
    assert response.status_code == 302


def test_a_viewer_may_not_create_a_service(victor):
    client = _client(victor)
    assert client.get(reverse("service-new", args=["acme"])).status_code == 403
    assert client.post(reverse("service-new", args=["acme"]), VALID).status_code == 403
    assert not Service.objects.filter(slug="billing").exists()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"slug": "shop-api"}, "already has a service at"),
        ({"slug": "Bad Slug"}, "lowercase letters"),
        ({"name": ""}, "This field is required"),
        ({"repository": "not a repo"}, "Enter a git URL"),
        ({"environments": "prod, pro duction"}, "is not a usable environment name"),
    ],
)
def test_it_explains_what_is_wrong_with_a_service(alice_client, service, change, message):
    response = alice_client.post(reverse("service-new", args=["acme"]), {**VALID, **change})
    assert response.status_code == 200
    assert message in response.text
    assert Service.objects.filter(organization__slug="acme").count() == 1


def test_it_offers_only_members_of_the_organization_as_owners(alice_client, charlie):
    response = alice_client.post(reverse("service-new", args=["acme"]), {**VALID, "owners": [charlie.pk]})
    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    assert "charlie@example.org" not in alice_client.get(reverse("service-new", args=["acme"])).text


def test_it_edits_a_service(alice_client, service):
    url = reverse("service-edit", args=["acme", "shop-api"])
    service.environments = ["production"]
    service.save()
    assert 'value="production"' in alice_client.get(url).text
    response = alice_client.post(url, {**VALID, "name": "Shop", "slug": "shop"})
    assert response["Location"] == reverse("service", args=["acme", "shop"])
    service.refresh_from_db()
    assert (service.name, service.slug) == ("Shop", "shop")


def test_a_service_may_keep_its_own_slug_when_edited(alice_client, service):
    response = alice_client.post(
        reverse("service-edit", args=["acme", "shop-api"]), {**VALID, "slug": "shop-api"}
    )
    assert response.status_code == 302


def test_it_shows_an_empty_service_page_with_what_to_do(alice_client, service):
    response = alice_client.get(reverse("service", args=["acme", "shop-api"]))
    assert response.status_code == 200
    assert "Nothing needs attention" in response.text
    assert "No releases yet" in response.text
    assert "not set up" in response.text


def test_it_shows_findings_releases_and_activity_on_the_service_page(alice_client, alice, service):
    finding = raise_finding(service, source="backups", key="b1", title="Backup overdue", severity="critical")
    acknowledge(finding, alice)
    release = Release.objects.create(service=service, version="1.4.2", commit="abcdef1234567890")
    Deploy.objects.create(release=release, environment="production")
    html = alice_client.get(reverse("service", args=["acme", "shop-api"])).text
    assert "Backup overdue" in html
    assert "1.4.2" in html and "production" in html
    assert "Acknowledged" in html and "alice@example.org" in html
    assert "created the service" in html  # the audit log's entry


def test_it_paginates_the_activity(alice_client, service):
    for i in range(30):
        raise_finding(service, source="monitoring", key=f"k{i}", title=f"Problem {i}")
    html = alice_client.get(reverse("service", args=["acme", "shop-api"])).text
    assert "Page 1 of 2" in html


def test_it_lists_releases_and_deploys(alice_client, service):
    url = reverse("service-releases", args=["acme", "shop-api"])
    assert "No releases yet" in alice_client.get(url).text
    release = Release.objects.create(service=service, version="2.0.0", url="javascript:alert(1)")
    Deploy.objects.create(release=release, environment="staging", deployed_by="ci")
    html = alice_client.get(url).text
    assert "2.0.0" in html and "staging" in html and "by ci" in html
    assert "javascript:" not in html


def test_it_hides_another_organizations_services(charlie_client, service):
    for name in ("service", "service-edit", "service-releases"):
        assert charlie_client.get(reverse(name, args=["acme", "shop-api"])).status_code == 404
    assert charlie_client.get(reverse("service-new", args=["acme"])).status_code == 404


def test_it_answers_404_for_a_missing_service(alice_client):
    assert alice_client.get(reverse("service", args=["acme", "nope"])).status_code == 404
