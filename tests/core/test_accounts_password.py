"""Password reset by email (end to end through a real SMTP server) and password change on the account page."""

import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from keepwell.core.models import AuditEvent

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    }


def test_it_resets_a_password_by_email_end_to_end(client, alice, smtp_server, settings):
    settings.BASE_URL = "https://keepwell.example"
    response = client.post(reverse("password_reset"), {"email": "Alice@Example.org"})
    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    assert len(smtp_server) == 1
    mail = smtp_server[0]
    assert mail.envelope_to == ["alice@example.org"]
    assert "Reset your keepwell password" in mail["Subject"]
    body = mail.get_content()
    # The link uses the configured address, not the Host header of whoever asked.
    link = re.search(r"https://keepwell\.example(/accounts/password/reset/\S+/)", body).group(1)

    response = client.get(link)
    assert response.status_code == 302  # Django moves the token into the session
    response = client.get(response.url)
    assert "Set a new password" in response.content.decode()
    response = client.post(
        response.wsgi_request.path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert response.url == reverse("password_reset_complete")
    assert AuditEvent.objects.filter(action="reset_password", actor=alice).exists()

    fresh = Client()
    assert fresh.post(reverse("login"), {"username": alice.email, "password": PASSWORD}).status_code == 200
    response = fresh.post(reverse("login"), {"username": alice.email, "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert fresh.session["_auth_user_id"] == str(alice.pk)

    # The link works once.
    response = Client().get(link, follow=True)
    assert "This link does not work any more" in response.content.decode()


def test_it_does_not_reveal_whether_an_address_has_an_account(client, db, smtp_server):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    assert smtp_server == []


def test_it_sends_at_most_a_few_reset_mails_per_address(client, alice, smtp_server, settings):
    settings.LOGIN_THROTTLE_ATTEMPTS = 2
    for _ in range(4):
        assert client.post(reverse("password_reset"), {"email": alice.email}).status_code == 302
    assert len(smtp_server) == 2


def test_it_changes_the_password_on_the_account_page(alice_client, alice):
    response = alice_client.post(
        reverse("account-password"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    # This session stays signed in.
    assert alice_client.get(reverse("account")).status_code == 200
    assert AuditEvent.objects.filter(action="change_password", actor=alice).exists()


def test_it_explains_a_wrong_old_password_or_a_weak_new_one(alice_client, alice):
    response = alice_client.post(
        reverse("account-password"),
        {"old_password": "wrong", "new_password1": "12345678901", "new_password2": "12345678901"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Your old password was entered incorrectly" in body
    assert "entirely numeric" in body
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_it_saves_the_profile_name(alice_client, alice):
    response = alice_client.post(reverse("account-profile"), {"name": "Alice Liddell"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.name == "Alice Liddell"
    assert "Alice Liddell" in alice_client.get(reverse("account")).content.decode()


def test_the_account_page_needs_sign_in(client, db):
    response = client.get(reverse("account"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
