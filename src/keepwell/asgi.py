import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keepwell.settings")
application = get_asgi_application()

# Plain heartbeat pings (/ping/<uuid>...) are answered in front of Django's middleware: see ping_fastpath.
from keepwell.monitoring.ping_fastpath import PingFastPath  # noqa: E402

application = PingFastPath(application)
