"""The prober tokens page: admins list, create (shown once) and revoke tokens; a revoked token is refused."""

import re

import pytest
from django.test import Client

from keepwell.cli import main
from keepwell.core.models import AuditEvent, Membership, Role, User
from keepwell.monitoring.models import Prober

PAGE = "/o/acme/monitoring/probers/"
HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def ada(acme):
    """An admin (not owner) of acme."""
    user = User.objects.create_user("ada@example.org", "correct horse battery staple")
    Membership.objects.create(organization=acme, user=user, role=Role.ADMIN)
    return user


def client_for(user, csrf=False):
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def csrf_token(client, path):
    html = client.get(path).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def lease(token):
    return Client().post(
        "/api/v1/prober/lease",
        {"location": "frankfurt", "horizon": 0},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def create(client, location="frankfurt", name="", **extra):
    return client.post(PAGE, {"location": location, "name": name, **extra})


def test_an_admin_creates_a_token_and_sees_it_once(ada):
    client = client_for(ada)
    response = create(client, "frankfurt", "Hetzner VPS")
    assert response.status_code == 201
    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    html = response.content.decode()
    token = re.search(r'id="new-token">(kwp_[^<]+)<', html).group(1)
    assert "only time it is shown" in html
    prober = Prober.objects.get()
    assert (prober.organization.slug, prober.location, prober.name) == ("acme", "frankfurt", "Hetzner VPS")
    assert prober.token_hash == Prober.hash(token) and token not in prober.token_hash, "only its hash is kept"

    again = client.get(PAGE).content.decode()
    assert token not in again, "the token is never shown again"
    assert prober.prefix + "…" in again and "Hetzner VPS" in again and "frankfurt" in again
    assert "Never" in again, "not seen yet"
    assert lease(token).status_code == 200
    prober.refresh_from_db()
    assert prober.last_seen is not None
    assert "ago" in client.get(PAGE).content.decode().split("Hetzner VPS")[1].split("</tr>")[0]


def test_members_and_viewers_are_refused_and_other_organizations_see_nothing(
    alice, bob, victor, charlie, acme
):
    prober, _ = Prober.issue(acme, "frankfurt")
    revoke = f"{PAGE}{prober.pk}/revoke"
    for user in (bob, victor):
        client = client_for(user)
        assert client.get(PAGE).status_code == 403
        assert create(client).status_code == 403
        assert client.post(revoke).status_code == 403
        assert 'href="/o/acme/monitoring/probers/"' not in client.get("/o/acme/monitoring/").content.decode()
    charlie_client = client_for(charlie)
    assert charlie_client.get(PAGE).status_code == 404
    assert charlie_client.post(revoke).status_code == 404
    assert charlie_client.get(f"/o/globex/monitoring/probers/{prober.pk}/revoke").status_code == 404
    assert Client().get(PAGE).status_code == 302, "signed out: sent to sign in"
    prober.refresh_from_db()
    assert prober.revoked_at is None and Prober.objects.count() == 1
    owner = client_for(alice)
    assert owner.get(PAGE).status_code == 200
    assert 'href="/o/acme/monitoring/probers/"' in owner.get("/o/acme/monitoring/").content.decode()


def test_a_hostile_name_is_shown_as_text_and_a_bad_location_is_refused(alice, acme):
    client = client_for(alice)
    assert create(client, "frankfurt", HOSTILE).status_code == 201
    prober = Prober.objects.get()
    for path in (PAGE, f"{PAGE}{prober.pk}/revoke"):
        html = client.get(path).content.decode()
        assert HOSTILE not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    for location, message in (
        (HOSTILE, "is not a location name"),
        ("local", "the hub&#x27;s own location"),
        ("", "This field is required"),
    ):
        response = create(client, location)
        assert response.status_code == 400
        assert message in response.content.decode()
    assert Prober.objects.count() == 1


def test_create_and_revoke_need_the_csrf_token(alice, acme):
    client = client_for(alice, csrf=True)
    assert create(client).status_code == 403
    assert not Prober.objects.exists()
    assert create(client, csrfmiddlewaretoken=csrf_token(client, PAGE)).status_code == 201
    prober = Prober.objects.get()
    revoke = f"{PAGE}{prober.pk}/revoke"
    assert client.post(revoke).status_code == 403
    prober.refresh_from_db()
    assert prober.revoked_at is None
    assert client.post(revoke, {"csrfmiddlewaretoken": csrf_token(client, revoke)}).status_code == 302
    prober.refresh_from_db()
    assert prober.revoked_at is not None


def test_a_revoked_token_is_refused_by_the_prober_api(alice, acme):
    """Revoking asks to confirm first; from then on the prober API answers the token 401."""
    _, token = Prober.issue(acme, "frankfurt", name="Frankfurt box")
    prober = Prober.objects.get()
    assert lease(token).status_code == 200
    client = client_for(alice)
    confirm = client.get(f"{PAGE}{prober.pk}/revoke")
    assert confirm.status_code == 200 and "Revoke the prober token of Frankfurt box (frankfurt)?" in (
        confirm.content.decode()
    )
    assert lease(token).status_code == 200, "asking to confirm revokes nothing"
    response = client.post(f"{PAGE}{prober.pk}/revoke", follow=True)
    assert response.redirect_chain[-1] == (PAGE, 302)
    assert "Revoked the prober token of Frankfurt box (frankfurt)" in response.content.decode()
    assert lease(token).status_code == 401
    Prober.issue(acme, "zurich")
    html = client.get(PAGE).content.decode()
    assert "Revoked " in html and f"{PAGE}{prober.pk}/revoke" not in html
    assert html.index("zurich") < html.index("Frankfurt box"), "live tokens first"
    assert client.post(f"{PAGE}{prober.pk}/revoke").status_code == 404, "already revoked"


def test_tokens_from_the_cli_and_the_page_are_the_same_and_audited(capsys, alice, acme):
    assert main(["prober", "token", "create", "--org", "acme", "--location", "paris"]) == 0
    cli_token = capsys.readouterr().out.strip().splitlines()[-1]
    client = client_for(alice)
    assert "paris" in client.get(PAGE).content.decode()
    html = create(client, "frankfurt", "Box").content.decode()
    page_token = re.search(r'id="new-token">(kwp_[^<]+)<', html).group(1)
    frankfurt = Prober.objects.get(location="frankfurt")
    client.post(f"{PAGE}{frankfurt.pk}/revoke")

    events = AuditEvent.objects.filter(object_type="monitoring.prober").order_by("id")
    assert [(e.action, e.object_repr, e.actor_label) for e in events] == [
        ("create", "paris", "system"),
        ("create", "Box (frankfurt)", "alice@example.org"),
        ("update", "Box (frankfurt)", "alice@example.org"),
    ]
    assert "revoked_at" in events[2].changes
    for event in events:
        text = str(event.changes)
        assert "token_hash" not in text and cli_token not in text and page_token not in text
    assert Prober.authenticate(cli_token).location == "paris"
    assert Prober.authenticate(page_token) is None
