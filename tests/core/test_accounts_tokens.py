"""The API tokens page: create a token shown once, list, revoke; members see theirs, admins all."""

import re

from django.test import Client
from django.urls import reverse

from keepwell.core.models import ApiToken, Membership, Role


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


def tokens_url(org="acme"):
    return reverse("tokens", args=[org])


def test_it_creates_a_token_and_shows_it_once(alice_client, alice, acme):
    response = alice_client.post(tokens_url(), {"name": "CI deploy", "scope": "write"})
    assert response.status_code == 201
    plain = re.search(
        r'<code class="token" id="new-token">(kw_[\w-]+)</code>', response.content.decode()
    ).group(1)
    row = ApiToken.authenticate(plain)
    assert row.organization == acme and row.user == alice and row.write and row.name == "CI deploy"
    assert row.token_hash != plain
    assert response["Cache-Control"].startswith("max-age=0")  # never cached
    page = alice_client.get(tokens_url()).content.decode()
    assert plain not in page
    assert row.prefix in page and "CI deploy" in page and "read-write" in page


def test_the_token_works_against_the_api(alice_client):
    response = alice_client.post(tokens_url(), {"name": "script", "scope": "read"})
    plain = re.search(r'id="new-token">(kw_[\w-]+)<', response.content.decode()).group(1)
    api = Client(headers={"Authorization": f"Bearer {plain}"})
    assert api.get("/api/v1/findings").status_code == 200
    assert Client(headers={"Authorization": "Bearer kw_nope"}).get("/api/v1/findings").status_code == 401


def test_a_token_needs_a_name_and_a_scope(alice_client):
    response = alice_client.post(tokens_url(), {"name": "", "scope": "admin"})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_viewers_create_read_tokens_only(victor, acme):
    c = client_for(victor)
    response = c.post(tokens_url(), {"name": "dash", "scope": "write"})
    assert response.status_code == 400
    assert "Viewers may create read tokens only" in response.content.decode()
    assert c.post(tokens_url(), {"name": "dash", "scope": "read"}).status_code == 201
    assert ApiToken.objects.get().write is False


def test_members_see_and_revoke_only_their_own_tokens(acme, alice, bob):
    alices, _ = ApiToken.issue(acme, alice, name="alice's")
    bobs, _ = ApiToken.issue(acme, bob, name="bob's")
    c = client_for(bob)
    page = c.get(tokens_url()).content.decode()
    assert "bob&#x27;s" in page and "alice&#x27;s" not in page
    assert c.post(reverse("token-revoke", args=["acme", alices.pk])).status_code == 404
    assert ApiToken.objects.get(pk=alices.pk).revoked_at is None
    assert c.post(reverse("token-revoke", args=["acme", bobs.pk])).status_code == 302
    assert ApiToken.objects.get(pk=bobs.pk).revoked_at is not None


def test_admins_see_and_revoke_every_token_of_the_organization(alice_client, acme, bob):
    bobs, plain = ApiToken.issue(acme, bob, name="bob's")
    page = alice_client.get(tokens_url()).content.decode()
    assert "bob@example.org" in page and bobs.prefix in page
    assert alice_client.post(reverse("token-revoke", args=["acme", bobs.pk])).status_code == 302
    assert ApiToken.authenticate(plain) is None
    assert bobs not in alice_client.get(tokens_url()).context["tokens"]


def test_other_organizations_tokens_stay_out_of_reach(alice_client, alice, other_org, charlie, acme):
    theirs, _ = ApiToken.issue(other_org, charlie, name="globex token")
    assert "globex token" not in alice_client.get(tokens_url()).content.decode()
    assert alice_client.post(reverse("token-revoke", args=["acme", theirs.pk])).status_code == 404
    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None
    assert client_for(charlie).get(tokens_url("acme")).status_code == 404


def test_an_admin_sees_tokens_of_members_but_a_demoted_admin_does_not(acme, alice, bob):
    ApiToken.issue(acme, alice, name="owner token")
    Membership.objects.filter(user=bob).update(role=Role.ADMIN)
    assert "owner token" in client_for(bob).get(tokens_url()).content.decode()
    Membership.objects.filter(user=bob).update(role=Role.MEMBER)
    assert "owner token" not in client_for(bob).get(tokens_url()).content.decode()
