"""The DSN keys API: create (the pinned contract), list, change, revoke; scoped to the organization."""

from urllib.parse import urlsplit

from django.test import Client

from keepwell.errors.models import Dsn

URL = "/api/v1/services/shop-api/dsns"


def create(api, body=None):
    """POST to create a key: with no body at all (as curl -X POST sends), or with a JSON object."""
    if body is None:
        return api.client.generic("POST", URL, b"", headers=api.headers)
    return api.post(URL, body)


def test_creating_a_dsn_answers_201_with_a_dsn_an_sdk_accepts(alice_api, service, settings):
    from sentry_sdk.utils import Dsn as SdkDsn

    settings.BASE_URL = "https://keepwell.example"
    response = create(alice_api)
    assert response.status_code == 201, response.content
    body = response.json()
    parsed = SdkDsn(body["dsn"])
    assert parsed.scheme == "https" and parsed.host == "keepwell.example"
    assert parsed.public_key == body["public_key"] and len(body["public_key"]) == 32
    assert parsed.project_id == str(body["project_id"])
    assert body["status"] == "active" and body["service"] == "shop-api"
    assert body["rate_limit"] == settings.ERRORS_RATE_LIMIT
    assert Dsn.objects.get(pk=body["id"]).service == service


def test_a_dsn_keeps_a_base_url_path(alice_api, service, settings):
    settings.BASE_URL = "http://example.org:8080/keepwell"
    dsn = create(alice_api, {}).json()["dsn"]
    parts = urlsplit(dsn)
    assert parts.port == 8080 and parts.path.startswith("/keepwell/") and parts.username


def test_a_label_and_rate_limit_may_be_given(alice_api, service):
    body = create(alice_api, {"label": " browser ", "rate_limit": 0}).json()
    assert body["label"] == "browser" and body["rate_limit"] == 0


def test_several_keys_per_service_each_with_its_own_project_id(alice_api, service):
    first, second = (create(alice_api, {"label": n}).json() for n in ("a", "b"))
    assert first["project_id"] != second["project_id"] and first["public_key"] != second["public_key"]
    listed = alice_api.get(URL).json()
    assert listed["count"] == 2 and [k["label"] for k in listed["items"]] == ["a", "b"]


def test_a_key_can_be_changed(alice_api, service):
    key = create(alice_api).json()
    response = alice_api.patch(f"{URL}/{key['id']}", {"label": "ios", "rate_limit": 60})
    assert response.status_code == 200
    assert response.json()["label"] == "ios" and response.json()["rate_limit"] == 60
    assert alice_api.patch(f"{URL}/{key['id']}", {"rate_limit": -1}).status_code == 422
    assert alice_api.patch(f"{URL}/{key['id']}", {"label": None}).status_code == 422


def test_revoking_a_key_keeps_it_listed_and_stops_ingestion(alice_api, service):
    key = create(alice_api).json()
    assert alice_api.delete(f"{URL}/{key['id']}").status_code == 204
    got = alice_api.get(f"{URL}/{key['id']}").json()
    assert got["status"] == "revoked" and got["revoked_at"]
    assert alice_api.get(URL, {"include_revoked": "false"}).json()["count"] == 0
    response = Client().post(
        f"/api/{key['project_id']}/store/?sentry_key={key['public_key']}", b"{}", content_type="text/plain"
    )
    assert response.status_code == 403


def test_a_read_only_token_may_list_but_not_create(alice_api_readonly, service):
    assert alice_api_readonly.get(URL).status_code == 200
    assert create(alice_api_readonly).status_code == 403


def test_a_viewer_may_not_create_keys(victor, acme, service):
    from tests.conftest import ApiClient

    from keepwell.core.models import ApiToken

    _, token = ApiToken.issue(acme, victor, write=True)
    response = create(ApiClient(token))
    assert response.status_code == 403 and "may not manage services" in response.json()["detail"]


def test_another_organization_sees_no_keys(alice_api, charlie_api, service):
    key = create(alice_api).json()
    assert charlie_api.get(URL).status_code == 404
    assert charlie_api.delete(f"{URL}/{key['id']}").status_code == 404
    assert Dsn.objects.get(pk=key["id"]).active


def test_an_unknown_key_id_is_404(alice_api, service):
    response = alice_api.get(f"{URL}/999999")
    assert response.status_code == 404 and "DSN key" in response.json()["detail"]
