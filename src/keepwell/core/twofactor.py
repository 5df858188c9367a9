"""TOTP two-factor sign-in: set-up, code checks without replay, and one-use recovery codes."""

import hashlib
import hmac
import secrets
import time

import pyotp
import segno
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import RecoveryCode, User

STEP = 30  # seconds per TOTP code, as every authenticator app expects
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: codes get typed from paper


class TwoFactorError(ValueError):
    """A two-factor step that cannot be done, with a message for the person."""


def _digits(code: str) -> str:
    return "".join(ch for ch in str(code or "") if not ch.isspace() and ch != "-").lower()


def _hash(code: str) -> str:
    return hashlib.sha256(_digits(code).encode()).hexdigest()


def begin_setup(user: User) -> str:
    """Give `user` a new, not yet enabled TOTP secret and return it."""
    if user.totp_enabled:
        raise TwoFactorError("Two-factor sign-in is already on. Turn it off first to set up a new device.")
    user.totp_secret = pyotp.random_base32()
    user.save(update_fields=["totp_secret"])
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    """Return the otpauth:// URI an authenticator app scans."""
    return pyotp.TOTP(user.totp_secret, interval=STEP).provisioning_uri(
        name=user.email, issuer_name=settings.SITE_NAME
    )


def qr_data_uri(user: User) -> str:
    """Return the set-up QR code as an SVG data: URI (an <img> source: the CSP forbids inline SVG styles)."""
    return segno.make(provisioning_uri(user), error="m").svg_data_uri(scale=5, border=2, light="#fff")


def _matching_step(secret: str, code: str, now: float) -> int | None:
    """Return the time step whose code is `code`, allowing one step of clock drift either way."""
    code = _digits(code)
    if not secret or len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    current = int(now // STEP)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.at(step * STEP), code):
            return step
    return None


def check_totp(user: User, code: str, now: float | None = None) -> bool:
    """Return True when `code` is a fresh TOTP code of `user`; a code once accepted never works again."""
    step = _matching_step(user.totp_secret, code, time.time() if now is None else now)
    if step is None:
        return False
    # The conditional update makes two simultaneous uses of one code accept only one.
    won = User.objects.filter(pk=user.pk, totp_last_step__lt=step).update(totp_last_step=step)
    if won:
        user.totp_last_step = step
    return bool(won)


def issue_recovery_codes(user: User) -> list[str]:
    """Replace the recovery codes of `user` and return the new ones (shown once)."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    with transaction.atomic():
        RecoveryCode.objects.filter(user=user).delete()
        # bulk_create sends no signals: the audit log records "recovery codes issued" once, not ten rows.
        RecoveryCode.objects.bulk_create(RecoveryCode(user=user, token_hash=_hash(c)) for c in codes)
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    """Return True and spend the code when `code` is one of the unused recovery codes of `user`."""
    if len(_digits(code)) != 10:
        return False
    return bool(
        RecoveryCode.objects.filter(user=user, token_hash=_hash(code), used_at=None).update(
            used_at=timezone.now()
        )
    )


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at=None).count()


def check(user: User, code: str) -> bool:
    """Return True when `code` is a fresh TOTP code or an unused recovery code of `user`."""
    if not user.totp_enabled:
        return False
    return check_totp(user, code) or use_recovery_code(user, code)


def confirm_setup(user: User, code: str) -> list[str]:
    """Turn two-factor sign-in on once `code` proves the app works; return the recovery codes."""
    if user.totp_enabled:
        raise TwoFactorError("Two-factor sign-in is already on.")
    if not user.totp_secret:
        raise TwoFactorError("Start the set-up first: press “Set up two-factor sign-in”.")
    if not check_totp(user, code):
        raise TwoFactorError(
            "That code does not match. Check that the phone's clock is right and enter the newest code."
        )
    user.totp_enabled = True
    user.save(update_fields=["totp_enabled"])
    return issue_recovery_codes(user)


def disable(user: User) -> None:
    """Turn two-factor sign-in off and forget the secret and the recovery codes."""
    with transaction.atomic():
        user.totp_enabled = False
        user.totp_secret = ""
        user.save(update_fields=["totp_enabled", "totp_secret"])
        RecoveryCode.objects.filter(user=user).delete()
