"""Channels: check a target when it is saved, and send one message through Apprise, email or a webhook."""

import functools
import hashlib
import hmac
import json
import logging
import re
import ssl
import time

import apprise
import certifi
import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email

from .. import netguard

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 10  # seconds
SIGNATURE_HEADER = "X-Keepwell-Signature"
TIMESTAMP_HEADER = "X-Keepwell-Timestamp"
# Apprise schemes whose host part is the server keepwell connects to (others name a cloud service).
HOST_SCHEMES = {
    "json", "jsons", "form", "forms", "xml", "xmls", "gotify", "gotifys", "mmost", "mmosts",
    "apprise", "apprises", "rocket", "rockets", "ntfy", "ntfys",
}  # fmt: skip


class DeliveryError(Exception):
    """A channel refused or failed to take a message; the text says why."""


def _apprise_plugin(url: str):
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise ValidationError(
            "Apprise does not recognise this URL. Check its scheme and parts (for example "
            "slack://TokenA/TokenB/TokenC or ntfy://ntfy.sh/my-topic); the list is at "
            "https://github.com/caronc/apprise/wiki."
        )
    return plugin


def _check_apprise_host(plugin) -> None:
    """Refuse an Apprise target whose own server is on a private network (raises BlockedTarget)."""
    schemes = set()
    for value in (plugin.protocol, plugin.secure_protocol):
        schemes.update([value] if isinstance(value, str) else value or [])
    if not schemes & HOST_SCHEMES:
        return
    if "ntfy" in schemes and getattr(plugin, "mode", "private") != "private":
        return  # ntfy://topic posts to the public ntfy.sh
    netguard.check_host(plugin.host, plugin.port)


def validate_target(kind: str, target: str) -> str:
    """Return `target` normalized for a channel of `kind`; raise ValidationError saying what to fix."""
    target = (target or "").strip()
    if kind == "apprise":
        if not target:
            raise ValidationError("Enter an Apprise URL, for example discord://webhook_id/webhook_token.")
        plugin = _apprise_plugin(target)
        if not apprise.Apprise().add(target):
            raise ValidationError(
                "Apprise cannot use this URL; check each part of it against the Apprise wiki."
            )
        try:
            _check_apprise_host(plugin)
        except netguard.BlockedTarget as exc:
            raise ValidationError(str(exc)) from None
        return target
    if kind == "webhook":
        if not target:
            raise ValidationError(
                "Enter the URL keepwell should POST to, for example https://example.com/hook."
            )
        if not re.match(r"^https?://", target, re.I):
            raise ValidationError("A webhook URL starts with https:// (or http://).")
        try:
            netguard.check_url(target)
        except netguard.BlockedTarget as exc:
            raise ValidationError(str(exc)) from None
        return target
    if kind == "email":
        addresses = [a for a in re.split(r"[\s,;]+", target) if a]
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(
                    f"{address!r} is not an email address. Separate several addresses with commas, "
                    "or leave the field empty to write to every member."
                ) from None
        return ", ".join(a.lower() for a in addresses)
    raise ValidationError(f"Unknown channel kind {kind!r}: use apprise, email or webhook.")


def send_apprise(channel, subject: str, body: str) -> str:
    """Send through Apprise (one Apprise object per delivery); return a short report."""
    try:
        plugin = _apprise_plugin(channel.target)
    except ValidationError as exc:
        raise DeliveryError(exc.messages[0]) from None
    _check_apprise_host(plugin)
    sender = apprise.Apprise()
    if not sender.add(channel.target):
        raise DeliveryError("Apprise cannot use this channel's URL; edit the channel.")
    # Apprise reports why a send failed only in its log. The capture hooks its global logger, so with
    # several deliveries at once a reason may show up in a neighbour's log entry too; the outcome is exact.
    with apprise.LogCapture(level=logging.WARNING) as logs:
        ok = sender.notify(title=subject, body=body)
    if not ok:
        detail = logs.getvalue().strip().splitlines()
        raise DeliveryError(detail[-1][:500] if detail else "Apprise reported that the message was not sent.")
    return f"sent via {plugin.service_name or 'Apprise'}"


def email_recipients(channel) -> list[str]:
    """Return the channel's addresses, or every active member's when it names none."""
    if channel.target.strip():
        return [a.strip() for a in channel.target.split(",") if a.strip()]
    return list(
        channel.organization.members.filter(is_active=True).order_by("email").values_list("email", flat=True)
    )


def send_email(channel, subject: str, body: str) -> str:
    """Send by Django's mail (the KEEPWELL_EMAIL_* server); return a short report."""
    recipients = email_recipients(channel)
    if not recipients:
        raise DeliveryError("The organization has no members with an email address to write to.")
    message = EmailMessage(subject=subject.replace("\n", " "), body=body, to=recipients)
    message.send()
    return f"mailed {len(recipients)} recipient(s)"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Return the X-Keepwell-Signature value for a webhook body sent at `timestamp`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle takes ~70 ms: do it once per process, not once per delivery.
    return ssl.create_default_context(cafile=certifi.where())


def send_webhook(channel, payload: dict) -> str:
    """POST the JSON payload, signed with the channel's secret; return the response status."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"{settings.SITE_NAME}-webhook/1",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(channel.signing_secret, timestamp, body),
    }
    with httpx.Client(timeout=WEBHOOK_TIMEOUT, follow_redirects=False, verify=_tls_context()) as client:
        response = netguard.pinned_post(client, channel.target, content=body, headers=headers)
    if response.status_code >= 300:
        raise DeliveryError(f"The webhook answered HTTP {response.status_code}: {response.text[:200]}")
    return f"HTTP {response.status_code}"
