"""The API's front door: tokens, scopes, roles, error shapes, OpenAPI and router discovery."""

from django.utils import timezone

from keepwell.core.models import ApiToken, AuditEvent, Membership, Service


def test_it_refuses_a_request_without_a_token(client, acme):
    response = client.get("/api/v1/services")
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_refuses_an_unknown_token(client, acme):
    response = client.get("/api/v1/services", headers={"Authorization": "Bearer kw_not-a-real-token"})
    assert response.status_code == 401


def test_it_refuses_a_revoked_token(alice, acme, client):
    row, plain = ApiToken.issue(acme, alice)
    row.revoked_at = timezone.now()
    row.save()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"}).status_code == 401


def test_it_refuses_the_token_of_someone_who_left(alice, acme, client):
    _, plain = ApiToken.issue(acme, alice, write=True)
    Membership.objects.filter(user=alice).delete()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"}).status_code == 401


def test_it_tells_who_the_token_speaks_for(alice_api):
    body = alice_api.get("/api/v1/me").json()
    assert body["organization"] == {"slug": "acme", "name": "Acme"}
    assert body["user"]["email"] == "alice@example.org"
    assert (body["role"], body["scope"]) == ("owner", "read-write")


def test_it_lets_a_read_token_read_but_not_write(alice_api_readonly, service):
    assert alice_api_readonly.get("/api/v1/services").status_code == 200
    response = alice_api_readonly.post("/api/v1/services", {"name": "X", "slug": "x"})
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    assert not Service.objects.filter(slug="x").exists()


def test_it_refuses_writes_a_viewers_role_does_not_allow(victor, acme):
    from tests.conftest import ApiClient

    _, plain = ApiToken.issue(acme, victor, write=True)
    response = ApiClient(plain).post("/api/v1/services", {"name": "X", "slug": "x"})
    assert response.status_code == 403
    assert "Your role (viewer) may not manage services" in response.json()["detail"]


def test_it_refuses_alerting_changes_to_a_member(bob, acme):
    from tests.conftest import ApiClient

    _, plain = ApiToken.issue(acme, bob, write=True)
    response = ApiClient(plain).post("/api/v1/channels", {"name": "Ops", "kind": "email", "target": ""})
    assert response.status_code == 403
    assert "admin" in response.json()["detail"]


def test_it_attributes_changes_to_the_tokens_user(alice_api, alice):
    assert alice_api.post("/api/v1/services", {"name": "Web", "slug": "web"}).status_code == 201
    event = AuditEvent.objects.get(action="create", object_type="core.service")
    assert (event.actor, event.organization.slug) == (alice, "acme")


def test_it_explains_validation_errors_in_a_detail(alice_api):
    response = alice_api.post("/api/v1/services", {"name": "", "slug": "Not A Slug"})
    assert response.status_code == 422
    body = response.json()
    assert "slug: Use 1 to 50 lowercase letters" in body["detail"]
    assert "name:" in body["detail"]
    assert {e["field"] for e in body["errors"]} == {"name", "slug"}


def test_it_answers_400_to_a_body_that_is_not_a_json_object(alice_api):
    response = alice_api.post("/api/v1/services", "[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert "JSON object" in response.json()["detail"]
    response = alice_api.post("/api/v1/services", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


def test_it_refuses_ids_beyond_what_the_database_holds(alice_api):
    assert alice_api.get(f"/api/v1/findings/{2**70}").status_code == 422
    assert alice_api.get("/api/v1/findings?limit=100000").status_code == 422
    assert alice_api.get(f"/api/v1/findings?offset={2**70}").status_code == 422


def test_it_refuses_nul_characters_with_a_clear_message(alice_api):
    response = alice_api.post("/api/v1/services", {"name": "a\x00b", "slug": "ab"})
    assert response.status_code == 422
    assert "name: may not contain NUL characters" in response.json()["detail"]


def test_it_publishes_an_openapi_document(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/services" in schema["paths"]
    assert "/api/v1/findings/{id}/acknowledge" in schema["paths"]
    assert schema["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"


def test_it_mounts_every_router_it_finds():
    from keepwell.api import api, app_routers

    mounted = {id(router) for _, router in api._routers}
    assert all(id(router) in mounted for _, router in app_routers())


def test_it_finds_the_router_in_an_apps_api_module(monkeypatch):
    """A practice app adds endpoints by defining `router` in keepwell/<app>/api.py."""
    import importlib.machinery
    import sys
    import types

    from ninja import Router

    from keepwell.api import app_routers

    module = types.ModuleType("keepwell.roadmap.api")
    module.__spec__ = importlib.machinery.ModuleSpec("keepwell.roadmap.api", None)
    module.router = Router()
    monkeypatch.setitem(sys.modules, "keepwell.roadmap.api", module)
    assert ("roadmap", module.router) in list(app_routers())


def test_it_serves_the_docs_page_from_its_own_static_files(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "cdn." not in page
