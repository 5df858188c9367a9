"""POST/GET/PATCH/DELETE /api/v1/services."""

from keepwell.core.models import Service


def test_it_creates_a_service(alice_api, alice):
    response = alice_api.post(
        "/api/v1/services",
        {
            "name": "Shop API",
            "slug": "shop-api",
            "repository": "https://git.example.org/shop.git",
            "environments": ["staging", "production", "staging"],
            "owners": ["Alice@Example.org"],
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["slug"], body["name"]) == ("shop-api", "Shop API")
    assert body["environments"] == ["staging", "production"]
    assert body["owners"] == ["alice@example.org"]
    service = Service.objects.get(slug="shop-api")
    assert service.organization.slug == "acme"
    assert list(service.owners.all()) == [alice]


def test_it_answers_409_when_the_slug_is_taken(alice_api, service):
    response = alice_api.post("/api/v1/services", {"name": "Again", "slug": "shop-api"})
    assert response.status_code == 409
    assert "already exists in acme" in response.json()["detail"]
    assert Service.objects.filter(slug="shop-api").count() == 1


def test_it_allows_the_same_slug_in_another_organization(charlie_api, service):
    assert charlie_api.post("/api/v1/services", {"name": "Shop", "slug": "shop-api"}).status_code == 201
    assert Service.objects.filter(slug="shop-api").count() == 2


def test_it_refuses_owners_who_are_not_members(alice_api, charlie):
    response = alice_api.post(
        "/api/v1/services", {"name": "X", "slug": "x", "owners": ["charlie@example.org"]}
    )
    assert response.status_code == 422
    assert "charlie@example.org is not a member of acme" in response.json()["detail"]


def test_it_lists_services_with_pagination_and_search(alice_api, acme):
    for i in range(3):
        Service.objects.create(organization=acme, name=f"Service {i}", slug=f"s{i}")
    Service.objects.create(organization=acme, name="Billing", slug="billing")
    body = alice_api.get("/api/v1/services?limit=2&offset=1").json()
    assert body["count"] == 4
    assert [s["slug"] for s in body["items"]] == ["s0", "s1"]
    assert [s["slug"] for s in alice_api.get("/api/v1/services?q=bill").json()["items"]] == ["billing"]


def test_it_shows_only_the_tokens_organization(charlie_api, service):
    assert charlie_api.get("/api/v1/services").json() == {"items": [], "count": 0}
    assert charlie_api.get("/api/v1/services/shop-api").status_code == 404


def test_it_changes_only_the_fields_given(alice_api, service):
    response = alice_api.patch("/api/v1/services/shop-api", {"description": "Sells things", "slug": "shop"})
    assert response.status_code == 200
    service.refresh_from_db()
    assert (service.name, service.slug, service.description) == ("Shop API", "shop", "Sells things")


def test_it_refuses_to_rename_onto_a_taken_slug(alice_api, service, acme):
    Service.objects.create(organization=acme, name="Web", slug="web")
    assert alice_api.patch("/api/v1/services/web", {"slug": "shop-api"}).status_code == 409


def test_it_refuses_null_for_a_required_field(alice_api, service):
    assert alice_api.patch("/api/v1/services/shop-api", {"name": None}).status_code == 422
    service.refresh_from_db()
    assert service.name == "Shop API"


def test_it_deletes_a_service(alice_api, service):
    assert alice_api.delete("/api/v1/services/shop-api").status_code == 204
    assert not Service.objects.filter(pk=service.pk).exists()
    assert alice_api.delete("/api/v1/services/shop-api").status_code == 404
