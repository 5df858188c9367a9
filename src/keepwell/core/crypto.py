"""Encryption at rest for stored credentials (channel URLs, passwords, TOTP secrets).

The key lives in the data directory (`encryption_key`, created on first use with mode 0600) or in
KEEPWELL_ENCRYPTION_KEY. Values are Fernet tokens (AES-128-CBC + HMAC-SHA256) stored with a `fernet:` prefix.
"""

import json
import os
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

PREFIX = "fernet:"


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    keys = os.environ.get("KEEPWELL_ENCRYPTION_KEY", "")
    if not keys:
        path = settings.ENCRYPTION_KEY_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(Fernet.generate_key().decode() + "\n")
            except FileExistsError:
                pass  # another process created it first
        keys = path.read_text().strip()
    # Several comma-separated keys allow rotation: the first encrypts, all decrypt.
    return MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()])


def encrypt(value: str) -> str:
    if not value:
        return ""
    return PREFIX + _fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    if not value:
        return ""
    if not value.startswith(PREFIX):
        raise ValueError("The stored value is not encrypted by keepwell.")
    try:
        return _fernet().decrypt(value[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise ValueError(
            "A stored credential cannot be decrypted: the encryption key in the data directory "
            "(or KEEPWELL_ENCRYPTION_KEY) is not the one it was saved with."
        ) from None


class EncryptedTextField(models.TextField):
    """A text field stored encrypted; Python code sees the plain text."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)


def mask(secret: str, keep: int = 4) -> str:
    """Return `secret` with all but its scheme and last `keep` characters hidden, for display."""
    if not secret:
        return ""
    scheme, sep, rest = secret.partition("://")
    if not sep:
        scheme, rest = "", secret
    tail = rest[-keep:] if len(rest) > keep * 3 else ""
    return f"{scheme}{sep}{'•' * 8}{tail}"


class EncryptedJSONField(models.TextField):
    """A JSON value stored encrypted (e.g. a monitor's options, whose headers may hold credentials)."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return self.get_default()
        return json.loads(decrypt(value))

    def to_python(self, value):
        if isinstance(value, str):
            try:
                return json.loads(decrypt(value) if value.startswith(PREFIX) else value)
            except ValueError:
                raise ValidationError("Enter valid JSON.") from None
        return value

    def get_prep_value(self, value):
        if value is None:
            return value
        return encrypt(json.dumps(value, separators=(",", ":"), sort_keys=True))

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj))
