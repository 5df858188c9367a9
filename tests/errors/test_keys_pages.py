"""The DSN keys pages: see the DSN, create, change and revoke keys; viewers read only; other orgs get 404."""

from keepwell.errors.models import Dsn


def test_the_index_lists_services_with_their_active_keys(alice_client, service):
    Dsn.issue(service)
    Dsn.issue(service).revoke()
    response = alice_client.get("/o/acme/errors/keys/")
    assert response.status_code == 200
    assert b"Shop API" in response.content
    assert response.context["services"][0].active_keys == 1


def test_a_service_page_shows_each_dsn(alice_client, service):
    dsn = Dsn.issue(service, label="<b>web</b>")
    response = alice_client.get("/o/acme/errors/keys/shop-api/")
    assert response.status_code == 200
    assert dsn.dsn.encode() in response.content
    assert b"&lt;b&gt;web&lt;/b&gt;" in response.content and b"<b>web</b>" not in response.content


def test_creating_a_key_from_the_page(alice_client, service):
    response = alice_client.post(
        "/o/acme/errors/keys/shop-api/new", {"label": "browser", "rate_limit": "120"}
    )
    dsn = Dsn.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/keys/shop-api/#key-{dsn.pk}")
    assert dsn.label == "browser" and dsn.rate_limit == 120 and dsn.service == service


def test_a_bad_rate_limit_is_shown_on_the_form(alice_client, service):
    response = alice_client.post("/o/acme/errors/keys/shop-api/new", {"label": "x", "rate_limit": "-5"})
    assert response.status_code == 400 and b"greater than or equal to 0" in response.content
    assert not Dsn.objects.exists()


def test_changing_and_revoking_a_key(alice_client, service):
    dsn = Dsn.issue(service, label="old", rate_limit=10)
    alice_client.post(f"/o/acme/errors/keys/shop-api/{dsn.pk}/edit", {"label": "new", "rate_limit": "0"})
    dsn.refresh_from_db()
    assert dsn.label == "new" and dsn.rate_limit == 0
    response = alice_client.post(f"/o/acme/errors/keys/shop-api/{dsn.pk}/revoke")
    assert response.status_code == 302
    dsn.refresh_from_db()
    assert not dsn.active and dsn.revoked_at


def test_a_viewer_sees_keys_but_cannot_change_them(client, victor, service):
    dsn = Dsn.issue(service)
    client.force_login(victor)
    page = client.get("/o/acme/errors/keys/shop-api/")
    assert page.status_code == 200 and b"Create the key" not in page.content
    assert client.post(f"/o/acme/errors/keys/shop-api/{dsn.pk}/revoke").status_code == 403
    assert Dsn.objects.get().active


def test_another_organization_gets_404(charlie_client, service):
    dsn = Dsn.issue(service)
    assert charlie_client.get("/o/acme/errors/keys/shop-api/").status_code == 404
    assert charlie_client.post(f"/o/acme/errors/keys/shop-api/{dsn.pk}/revoke").status_code == 404
    assert Dsn.objects.get().active


def test_a_key_of_another_service_is_not_found_under_this_one(alice_client, service, acme):
    from keepwell.core.models import Service

    other = Service.objects.create(organization=acme, name="Other", slug="other")
    dsn = Dsn.issue(other)
    assert alice_client.post(f"/o/acme/errors/keys/shop-api/{dsn.pk}/revoke").status_code == 404


def test_a_signed_out_visitor_is_sent_to_sign_in(client, service):
    dsn = Dsn.issue(service)
    base = "/o/acme/errors/keys/"
    for url in (base, f"{base}shop-api/", f"{base}shop-api/new", f"{base}shop-api/{dsn.pk}/revoke"):
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url
    assert Dsn.objects.get().active
