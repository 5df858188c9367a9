"""Security headers on every page, and CSRF on the sign-in form."""

import pytest
from django.test import Client
from django.urls import reverse


def assert_security_headers(response):
    csp = response["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_the_sign_in_page_sends_the_security_headers(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert_security_headers(response)


def test_an_organization_page_sends_the_security_headers(alice_client):
    response = alice_client.get(reverse("members", args=["acme"]))
    assert response.status_code == 200
    assert_security_headers(response)


def test_pages_have_no_inline_scripts_or_styles(client, alice_client):
    for c, url in [
        (client, reverse("login")),
        (alice_client, reverse("account")),
        (alice_client, reverse("members", args=["acme"])),
    ]:
        body = c.get(url).content.decode()
        assert "<script>" not in body and "<style" not in body and "style=" not in body
        assert "<script" not in body.replace('<script src="/static/', "")


@pytest.mark.parametrize("with_token", [False, True])
def test_sign_in_enforces_csrf(alice, with_token):
    c = Client(enforce_csrf_checks=True)
    data = {"username": alice.email, "password": "correct horse battery staple"}
    if with_token:
        c.get(reverse("login"))
        data["csrfmiddlewaretoken"] = c.cookies["csrftoken"].value
    response = c.post(reverse("login"), data)
    if with_token:
        assert response.status_code == 302
    else:
        assert response.status_code == 403
        assert "_auth_user_id" not in c.session


def test_session_and_csrf_cookies_are_http_only_or_same_site(alice):
    c = Client()
    c.post(reverse("login"), {"username": alice.email, "password": "correct horse battery staple"})
    session = c.cookies["sessionid"]
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
