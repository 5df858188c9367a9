"""Count failures (sign-ins, two-factor codes) in Django's cache and refuse further tries for a while.

A counter lives for one window from its first failure; once it reaches the limit, every try is refused
until the window ends. Counters are keyed by a hash, so emails and addresses never sit in the cache in clear.
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache

from . import clientip


class Throttled(Exception):
    """Too many failures: `seconds` until the next try is allowed."""

    def __init__(self, seconds: int):
        self.seconds = max(1, int(seconds))
        super().__init__(self.message)

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.seconds / 60))

    @property
    def message(self) -> str:
        unit = "minute" if self.minutes == 1 else "minutes"
        return f"Too many failed sign-ins, try again in {self.minutes} {unit}."


def _key(scope: str, value: str) -> str:
    digest = hashlib.sha256(f"{scope}:{value}".lower().encode()).hexdigest()[:32]
    return f"keepwell:throttle:{scope}:{digest}"


class Throttle:
    """At most `limit` failures per key in `window` seconds."""

    def __init__(self, scope: str, limit: int | None = None, window: int | None = None):
        self.scope = scope
        self._limit, self._window = limit, window

    # Read the settings on use, not on import, so that a changed setting takes effect at once.
    @property
    def limit(self) -> int:
        return self._limit if self._limit is not None else settings.LOGIN_THROTTLE_ATTEMPTS

    @property
    def window(self) -> int:
        return self._window if self._window is not None else settings.LOGIN_THROTTLE_WINDOW

    def wait(self, *values) -> int:
        """Return the seconds to wait before `values` may try again (0 when they may try now)."""
        longest = 0
        for value in filter(None, values):
            key = _key(self.scope, value)
            if (cache.get(key) or 0) >= self.limit:
                started = cache.get(key + ":t") or time.time()
                longest = max(longest, math.ceil(started + self.window - time.time()))
        return max(longest, 0)

    def check(self, *values) -> None:
        """Raise Throttled when any of `values` has used up its failures."""
        seconds = self.wait(*values)
        if seconds > 0:
            raise Throttled(seconds)

    def fail(self, *values) -> None:
        """Count one failure against each of `values`."""
        for value in filter(None, values):
            key = _key(self.scope, value)
            # add() only writes when the key is missing, so the window starts at the first failure.
            cache.add(key + ":t", time.time(), self.window)
            cache.add(key, 0, self.window)
            try:
                cache.incr(key)
            except ValueError:  # expired between add() and incr()
                cache.add(key, 1, self.window)

    def reset(self, *values) -> None:
        """Forget the failures of `values` (after a success)."""
        for value in filter(None, values):
            key = _key(self.scope, value)
            cache.delete_many([key, key + ":t"])


def client_ip(request) -> str:
    """Return the address the request came from."""
    return clientip.from_request(request) or ""
