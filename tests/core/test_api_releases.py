"""Releases, deploys, links and tokens through the API."""

from django.contrib.contenttypes.models import ContentType

from keepwell.core import findings
from keepwell.core.models import ApiToken, Deploy, Link, Release, Service
from keepwell.core.signals import release_deployed


def test_it_records_a_release_and_refuses_a_duplicate_version(alice_api, service):
    response = alice_api.post("/api/v1/services/shop-api/releases", {"version": "1.2.0", "commit": "abc123"})
    assert response.status_code == 201
    assert (response.json()["version"], response.json()["service"]) == ("1.2.0", "shop-api")
    assert alice_api.post("/api/v1/services/shop-api/releases", {"version": "1.2.0"}).status_code == 409
    assert alice_api.get("/api/v1/services/shop-api/releases").json()["count"] == 1


def test_it_records_a_deploy_creating_the_release_and_sending_the_signal(alice_api, service):
    seen = []

    def receiver(sender, deploy, **kwargs):
        seen.append(deploy)

    release_deployed.connect(receiver)
    try:
        response = alice_api.post(
            "/api/v1/services/shop-api/deploys", {"version": "2.0.0", "environment": "production"}
        )
        alice_api.post("/api/v1/services/shop-api/deploys", {"version": "2.0.0", "environment": "staging"})
    finally:
        release_deployed.disconnect(receiver)
    assert response.status_code == 201
    assert response.json()["version"] == "2.0.0"
    assert Release.objects.filter(service=service).count() == 1
    assert [d.environment for d in seen] == ["production", "staging"]
    listed = alice_api.get("/api/v1/services/shop-api/deploys?environment=staging").json()
    assert [d["environment"] for d in listed["items"]] == ["staging"]


def test_it_hides_another_organizations_releases(charlie_api, service):
    Release.objects.create(service=service, version="1.0")
    assert charlie_api.get("/api/v1/services/shop-api/releases").status_code == 404
    assert (
        charlie_api.post(
            "/api/v1/services/shop-api/deploys", {"version": "9", "environment": "x"}
        ).status_code
        == 404
    )
    assert not Deploy.objects.exists()


def test_it_links_two_objects_of_the_organization(alice_api, service):
    finding = findings.raise_finding(service, source="errors", key="e1", title="Crash")
    release = Release.objects.create(service=service, version="1.0")
    payload = {
        "source_type": "core.finding",
        "source_id": str(finding.pk),
        "target_type": "core.release",
        "target_id": str(release.pk),
        "relation": "fixed-by",
    }
    response = alice_api.post("/api/v1/links", payload)
    assert response.status_code == 201
    body = response.json()
    assert body["source"] == {"type": "core.finding", "id": str(finding.pk), "label": "Crash"}
    assert body["target"]["label"] == "shop-api 1.0"
    assert alice_api.post("/api/v1/links", payload).status_code == 409
    listed = alice_api.get(f"/api/v1/links?type=core.release&id={release.pk}").json()
    assert [link["id"] for link in listed["items"]] == [body["id"]]
    assert alice_api.delete(f"/api/v1/links/{body['id']}").status_code == 204
    assert not Link.objects.exists()


def test_it_refuses_to_link_to_another_organizations_object(alice_api, service, other_org):
    theirs = Service.objects.create(organization=other_org, name="Theirs", slug="theirs")
    payload = {
        "source_type": "core.service",
        "source_id": str(service.pk),
        "target_type": "core.service",
        "target_id": str(theirs.pk),
    }
    assert alice_api.post("/api/v1/links", payload).status_code == 404
    assert alice_api.post("/api/v1/links", {**payload, "target_type": "auth.group"}).status_code == 422
    assert alice_api.post("/api/v1/links", {**payload, "target_id": "abc"}).status_code == 404
    assert not Link.objects.exists()


def test_it_hides_links_of_another_organization(charlie_api, acme, service):
    ct = ContentType.objects.get_for_model(Service)
    link = Link.objects.create(
        organization=acme, source_type=ct, source_id=service.pk, target_type=ct, target_id=1
    )
    assert charlie_api.get(f"/api/v1/links/{link.pk}").status_code == 404
    assert charlie_api.delete(f"/api/v1/links/{link.pk}").status_code == 404
    assert Link.objects.exists()


def test_it_lists_and_revokes_own_tokens(alice_api, alice, bob, acme):
    ApiToken.issue(acme, bob)
    listed = alice_api.get("/api/v1/tokens").json()
    assert listed["count"] == 2  # alice is an owner: she sees bob's token too
    own = ApiToken.objects.filter(user=alice).first()
    assert alice_api.delete(f"/api/v1/tokens/{own.pk}").status_code == 204
    assert alice_api.get("/api/v1/me").status_code == 401


def test_it_lets_a_member_see_and_revoke_only_their_own_tokens(bob, alice, acme):
    from tests.conftest import ApiClient

    theirs, _ = ApiToken.issue(acme, alice)
    _, plain = ApiToken.issue(acme, bob, write=True)
    api = ApiClient(plain)
    assert api.get("/api/v1/tokens").json()["count"] == 1
    assert api.delete(f"/api/v1/tokens/{theirs.pk}").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
