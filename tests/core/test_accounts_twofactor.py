"""Optional TOTP two-factor sign-in: set-up on the account page, the second sign-in step, recovery, turning off."""

import re
import time
import uuid

import pyotp
import pytest
from django.test import Client
from django.urls import reverse

from keepwell.core import twofactor
from keepwell.core.models import AuditEvent, RecoveryCode, User

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    }


@pytest.fixture
def alice_2fa(alice):
    """Alice with two-factor sign-in on; yields (alice, her TOTP generator, her recovery codes)."""
    twofactor.begin_setup(alice)
    totp = pyotp.TOTP(alice.totp_secret)
    codes = twofactor.confirm_setup(alice, totp.at(time.time() - 30))
    alice.refresh_from_db()
    return alice, totp, codes


def signed_in_user(client):
    return client.get(reverse("account")).wsgi_request.user if "_auth_user_id" in client.session else None


def test_it_sets_up_two_factor_by_scanning_and_confirming_a_code(alice_client, alice):
    page = alice_client.get(reverse("account")).content.decode()
    assert "Set up two-factor sign-in" in page
    alice_client.post(reverse("account-2fa-setup"))
    page = alice_client.get(reverse("account")).content.decode()
    alice.refresh_from_db()
    assert alice.totp_secret and not alice.totp_enabled
    # The QR code is an <img> with an SVG data: URI: the CSP forbids inline styles and scripts.
    assert re.search(r'<img class="qr" src="data:image/svg\+xml;charset=utf-8,%3Csvg', page)
    assert alice.totp_secret in page  # for typing in by hand

    response = alice_client.post(
        reverse("account-2fa-confirm"), {"code": pyotp.TOTP(alice.totp_secret).now()}
    )
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.totp_enabled
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", response.content.decode())
    assert len(codes) == 10
    assert RecoveryCode.objects.filter(user=alice, used_at=None).count() == 10
    assert not RecoveryCode.objects.filter(token_hash__in=codes).exists()  # stored hashed
    assert AuditEvent.objects.filter(action="enable_2fa", actor=alice).exists()


def test_it_refuses_to_turn_on_with_a_wrong_code(alice_client, alice):
    alice_client.post(reverse("account-2fa-setup"))
    response = alice_client.post(reverse("account-2fa-confirm"), {"code": "000000"})
    assert response.status_code == 400
    assert "That code does not match" in response.content.decode()
    alice.refresh_from_db()
    assert not alice.totp_enabled


def test_sign_in_asks_for_the_code_and_signs_in_only_when_it_checks(client, alice_2fa):
    alice, totp, _ = alice_2fa
    response = client.post(
        reverse("login"), {"username": alice.email, "password": PASSWORD, "next": "/accounts/"}
    )
    assert response.status_code == 302
    assert response.url == reverse("login-2fa")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("account")).status_code == 302  # still not signed in

    response = client.post(reverse("login-2fa"), {"code": "123456"})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="login_failed", actor_label=alice.email).exists()

    response = client.post(reverse("login-2fa"), {"code": totp.now()})
    assert response.status_code == 302
    assert response.url == "/accounts/"
    assert client.session["_auth_user_id"] == str(alice.pk)
    assert AuditEvent.objects.filter(action="login", actor=alice).exists()


def test_it_rejects_a_code_that_was_used_already(client, alice_2fa):
    alice, totp, _ = alice_2fa
    code = totp.now()
    client.post(reverse("login"), {"username": alice.email, "password": PASSWORD})
    assert client.post(reverse("login-2fa"), {"code": code}).status_code == 302
    other = Client()
    other.post(reverse("login"), {"username": alice.email, "password": PASSWORD})
    response = other.post(reverse("login-2fa"), {"code": code})
    assert response.status_code == 200
    assert "_auth_user_id" not in other.session


def test_a_recovery_code_signs_in_once(client, alice_2fa):
    alice, _, codes = alice_2fa
    client.post(reverse("login"), {"username": alice.email, "password": PASSWORD})
    assert client.post(reverse("login-2fa"), {"code": codes[0].upper()}).status_code == 302
    other = Client()
    other.post(reverse("login"), {"username": alice.email, "password": PASSWORD})
    assert other.post(reverse("login-2fa"), {"code": codes[0]}).status_code == 200
    assert "_auth_user_id" not in other.session
    assert twofactor.recovery_codes_left(alice) == 9


def test_it_throttles_wrong_codes(client, alice_2fa, settings):
    settings.LOGIN_THROTTLE_ATTEMPTS = 2
    alice, totp, _ = alice_2fa
    client.post(reverse("login"), {"username": alice.email, "password": PASSWORD})
    client.post(reverse("login-2fa"), {"code": "111111"})
    client.post(reverse("login-2fa"), {"code": "222222"})
    response = client.post(reverse("login-2fa"), {"code": totp.now()})
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    alice.refresh_from_db()
    assert alice.totp_last_step < int(time.time() // 30)  # the right code was not even checked, so not spent


def test_the_code_step_without_a_password_step_goes_back_to_sign_in(client, db):
    assert client.get(reverse("login-2fa")).url == reverse("login")


def test_the_code_step_expires(client, alice_2fa):
    alice, totp, _ = alice_2fa
    client.post(reverse("login"), {"username": alice.email, "password": PASSWORD})
    session = client.session
    session["keepwell_2fa_pending"]["at"] -= 301
    session.save()
    response = client.post(reverse("login-2fa"), {"code": totp.now()})
    assert response.url == reverse("login")
    assert "_auth_user_id" not in client.session


def test_turning_off_needs_the_password_and_a_code(alice_2fa):
    alice, totp, _ = alice_2fa
    client = Client()
    client.force_login(alice)
    response = client.post(reverse("account-2fa-disable"), {"password": "wrong", "code": totp.now()})
    assert response.status_code == 400
    assert "That is not your password." in response.content.decode()
    response = client.post(reverse("account-2fa-disable"), {"password": PASSWORD, "code": "000000"})
    assert response.status_code == 400
    alice.refresh_from_db()
    assert alice.totp_enabled

    response = client.post(reverse("account-2fa-disable"), {"password": PASSWORD, "code": totp.now()})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert not alice.totp_enabled and alice.totp_secret == ""
    assert not RecoveryCode.objects.filter(user=alice).exists()
    assert AuditEvent.objects.filter(action="disable_2fa", actor=alice).exists()


def test_new_recovery_codes_replace_the_old_ones(alice_2fa):
    alice, totp, old = alice_2fa
    client = Client()
    client.force_login(alice)
    response = client.post(reverse("account-2fa-recovery"), {"code": totp.now()})
    new = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", response.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert not twofactor.use_recovery_code(alice, old[1])
    assert twofactor.use_recovery_code(alice, new[1])


def test_a_code_from_the_next_step_is_accepted_then_older_ones_are_not(alice_2fa):
    alice, totp, _ = alice_2fa
    now = time.time()
    assert twofactor.check_totp(alice, totp.at(now + 30), now=now)
    assert not twofactor.check_totp(User.objects.get(pk=alice.pk), totp.at(now), now=now)


def test_the_account_page_keeps_the_ids_of_its_code_forms_apart(alice_2fa):
    alice, _, _ = alice_2fa
    client = Client()
    client.force_login(alice)
    ids = re.findall(r'\bid="([^"]+)"', client.get(reverse("account")).content.decode())
    assert len(ids) == len(set(ids))
    assert {"recovery_code", "disable_code", "disable_password"} <= set(ids)
