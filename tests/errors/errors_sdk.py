"""Envelopes built by the real Python sentry-sdk, captured by its transport instead of sent."""

import contextlib

import sentry_sdk
from sentry_sdk.transport import Transport

DSN = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/100001"


class CaptureTransport(Transport):
    """A sentry-sdk transport that keeps each serialized envelope."""

    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes: list[bytes] = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope.serialize())

    def flush(self, timeout, callback=None):
        pass

    def kill(self):
        pass


@contextlib.contextmanager
def sdk(**options):
    """Initialize the real SDK for the block; yield the list that collects its envelopes."""
    transport = CaptureTransport()
    options.setdefault("default_integrations", False)
    options.setdefault("auto_session_tracking", False)
    options.setdefault("auto_enabling_integrations", False)  # never instrument the test process's Django
    sentry_sdk.init(dsn=DSN, transport=transport, **options)
    try:
        yield transport.envelopes
    finally:
        sentry_sdk.flush()
        sentry_sdk.get_client().close()
        sentry_sdk.init()  # no DSN: the SDK is off again for the next test


def capture(func, **options) -> list[bytes]:
    """Run `func` under the SDK (it captures what it wants) and return the envelopes it produced."""
    with sdk(**options) as envelopes:
        func()
    return envelopes


def checkout(user_id):
    """A request handler with a bug: the same one whichever user hits it."""
    cart = {}
    return cart["total"] / user_id


def report(func, *args, user=None, tags=None):
    """Return a callable that runs `func(*args)` in its own scope and captures what it raises."""

    def run():
        with sentry_sdk.new_scope() as scope:
            if user:
                scope.set_user(user)
            for key, value in (tags or {}).items():
                scope.set_tag(key, value)
            try:
                func(*args)
            except Exception:
                sentry_sdk.capture_exception()

    return run
