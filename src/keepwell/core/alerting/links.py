"""Signed one-click links in notifications: acknowledge or resolve a finding without signing in.

The link carries the finding, the action and the start of the finding's current episode, signed with the
secret key and a salt of its own; it expires after LINK_MAX_AGE. A link from an earlier episode (the finding
was resolved and came back) no longer acts, so an old message cannot silence a new problem.
"""

import functools
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "keepwell.finding-action"
LINK_MAX_AGE = 7 * 24 * 3600  # seconds
ACTIONS = {"acknowledge": "a", "resolve": "r"}
_BY_CODE = {code: action for action, code in ACTIONS.items()}


class LinkError(ValueError):
    """The link is not valid; `expired` tells an old link from a tampered one."""

    def __init__(self, message, expired=False):
        super().__init__(message)
        self.expired = expired


@dataclass
class ActionLink:
    finding_id: int
    action: str
    episode: int


def _episode(finding) -> int:
    return int(finding.opened_at.timestamp())


def sign_action(finding, action: str) -> str:
    """Return the signed token for `action` ("acknowledge" or "resolve") on `finding`."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    return signing.TimestampSigner(salt=SALT).sign_object([finding.pk, ACTIONS[action], _episode(finding)])


@functools.cache
def _path_template() -> str:
    # Reversing once: a message about a burst signs two links for each of hundreds of findings.
    return reverse("finding-action", args=["TOKEN"])


def action_url(finding, action: str) -> str:
    """Return the absolute signed URL that performs `action` on `finding` after one confirming click."""
    return settings.BASE_URL + _path_template().replace("TOKEN", sign_action(finding, action))


def read_action(token: str) -> ActionLink:
    """Return what a signed token asks for; raise LinkError when it is tampered with or expired."""
    try:
        finding_id, code, episode = signing.TimestampSigner(salt=SALT).unsign_object(
            token, max_age=LINK_MAX_AGE
        )
    except signing.SignatureExpired:
        raise LinkError(
            "This link has expired: links in notifications work for 7 days. Open the finding in keepwell instead.",
            expired=True,
        ) from None
    except (signing.BadSignature, ValueError, TypeError):
        raise LinkError(
            "This link is not valid: it may have been cut short or changed. Copy it again."
        ) from None
    if code not in _BY_CODE:
        raise LinkError("This link is not valid: it asks for an unknown action.")
    return ActionLink(int(finding_id), _BY_CODE[code], int(episode))


def is_current(link: ActionLink, finding) -> bool:
    """Return True when `link` was made for `finding`'s current episode."""
    return link.episode == _episode(finding)
