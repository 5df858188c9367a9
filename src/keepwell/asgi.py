import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keepwell.settings")
django_application = get_asgi_application()

# Plain heartbeat pings (/ping/<uuid>...) are answered in front of Django's middleware: see ping_fastpath.
from keepwell.monitoring.ping_fastpath import PingFastPath  # noqa: E402

pings = PingFastPath(django_application)

# Sentry envelopes (/api/<project_id>/envelope/ and /store/) likewise: the body is size-checked and
# decompressed as it streams in, and the answer goes out once the envelope is spooled: see ingest_asgi.
from keepwell.errors.ingest_asgi import SentryIngestFastPath  # noqa: E402

application = SentryIngestFastPath(pings)
