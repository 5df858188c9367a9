"""Signing in by email and password, signing out, throttling and the sign-in audit trail."""

import time
import uuid

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.test import Client
from django.urls import reverse

from keepwell.core.models import AuditEvent

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Give each test its own throttle counters."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    }


def sign_in(client, email, password=PASSWORD, ip="203.0.113.7", **data):
    return client.post(reverse("login"), {"username": email, "password": password, **data}, REMOTE_ADDR=ip)


def test_it_signs_in_by_email_and_password(client, alice):
    response = sign_in(client, "alice@example.org", next="/accounts/")
    assert response.status_code == 302
    assert response.url == "/accounts/"
    assert client.get(reverse("account")).context["user"] == alice


def test_it_ignores_the_case_of_the_email(client, alice):
    response = sign_in(client, "Alice@Example.ORG", next="/accounts/")
    assert response.status_code == 302


def test_it_says_clearly_when_the_password_is_wrong(client, alice):
    response = sign_in(client, "alice@example.org", "wrong password")
    assert response.status_code == 200
    assert "The email or the password is not right" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_ignores_unsafe_next_addresses(client, alice):
    response = sign_in(client, "alice@example.org", next="https://evil.example/steal")
    assert response.status_code == 302
    assert not response.url.startswith("https://evil.example")


def test_it_records_sign_ins_with_the_address_in_the_audit_log(client, alice):
    sign_in(client, "alice@example.org", ip="198.51.100.4")
    event = AuditEvent.objects.get(action="login")
    assert event.actor == alice
    assert event.ip == "198.51.100.4"


def test_it_records_failed_sign_ins_with_the_email_and_address(client, alice):
    sign_in(client, "alice@example.org", "nope nope nope", ip="198.51.100.5")
    event = AuditEvent.objects.get(action="login_failed")
    assert event.actor is None
    assert event.actor_label == "alice@example.org"
    assert event.ip == "198.51.100.5"


def test_it_signs_out_on_post_only(alice_client, alice):
    assert alice_client.get(reverse("logout")).status_code == 405
    response = alice_client.post(reverse("logout"))
    assert response.status_code == 302
    assert response.url == reverse("login")
    assert "_auth_user_id" not in alice_client.session
    assert AuditEvent.objects.filter(action="logout", actor=alice).exists()


def test_it_throttles_failed_sign_ins_per_email_without_checking_the_password(client, alice, settings):
    settings.LOGIN_THROTTLE_ATTEMPTS = 3
    settings.LOGIN_THROTTLE_WINDOW = 600
    for i in range(3):
        sign_in(client, "alice@example.org", "wrong password", ip=f"203.0.113.{i}")
    failed_before = AuditEvent.objects.filter(action="login_failed").count()
    response = sign_in(client, "alice@example.org", PASSWORD, ip="203.0.113.99")
    assert response.status_code == 200
    assert "Too many failed sign-ins, try again in 10 minutes." in response.content.decode()
    assert "_auth_user_id" not in client.session
    # No authentication happened at all: Django's backend would have logged a failure or a success.
    assert AuditEvent.objects.filter(action="login_failed").count() == failed_before
    assert not AuditEvent.objects.filter(action="login").exists()


def test_it_throttles_failed_sign_ins_per_address(client, alice, bob, settings):
    settings.LOGIN_THROTTLE_ATTEMPTS = 3
    for email in ("x@example.org", "y@example.org", "z@example.org"):
        sign_in(client, email, "guess guess guess", ip="192.0.2.50")
    response = sign_in(client, "bob@example.org", PASSWORD, ip="192.0.2.50")
    assert "Too many failed sign-ins" in response.content.decode()
    # Another address may still sign in as bob.
    assert sign_in(Client(), "bob@example.org", PASSWORD, ip="192.0.2.51").status_code == 302


def test_it_lets_people_try_again_after_the_window(client, alice, settings):
    settings.LOGIN_THROTTLE_ATTEMPTS = 1
    settings.LOGIN_THROTTLE_WINDOW = 1
    sign_in(client, "alice@example.org", "wrong password")
    assert "Too many" in sign_in(client, "alice@example.org").content.decode()
    time.sleep(1.1)
    assert sign_in(client, "alice@example.org").status_code == 302


def test_it_forgets_an_emails_failures_after_a_successful_sign_in(client, alice, settings):
    settings.LOGIN_THROTTLE_ATTEMPTS = 3
    sign_in(client, "alice@example.org", "wrong password", ip="192.0.2.1")
    sign_in(client, "alice@example.org", "wrong password", ip="192.0.2.2")
    assert sign_in(client, "alice@example.org", ip="192.0.2.3").status_code == 302
    client.post(reverse("logout"))
    sign_in(client, "alice@example.org", "wrong password", ip="192.0.2.4")
    sign_in(client, "alice@example.org", "wrong password", ip="192.0.2.5")
    assert sign_in(client, "alice@example.org", ip="192.0.2.6").status_code == 302


def test_the_production_settings_hash_passwords_with_argon2_first():
    import keepwell.settings as production

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    # And argon2 really works here (argon2-cffi is installed).
    hasher = Argon2PasswordHasher()
    encoded = hasher.encode("x" * 12, hasher.salt())
    assert encoded.startswith("argon2$") and hasher.verify("x" * 12, encoded)
    assert django_settings.PASSWORD_HASHERS != production.PASSWORD_HASHERS  # tests use a fast hasher


def test_the_sign_in_page_shows_the_form(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="username"' in body and 'name="password"' in body
    assert reverse("password_reset") in body


def test_a_signed_in_person_visiting_sign_in_goes_on(alice_client):
    response = alice_client.get(reverse("login"))
    assert response.status_code == 302


def test_a_signed_in_person_sent_back_to_sign_in_sees_the_form_instead_of_an_error(alice_client):
    response = alice_client.get(reverse("login") + "?next=" + reverse("login"))
    assert response.status_code == 200
