"""The JSON API under /api/v1/ (django-ninja): token auth, JSON errors, core's routers and each app's router.

A practice app adds endpoints by defining `router` (a ninja Router) in `keepwell/<app>/api.py`; it is found
here at start-up, authenticated with the same Bearer tokens, and listed in /api/v1/openapi.json.
"""

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from ninja import NinjaAPI

from .core.api import alerting, errors, findings, links, maintenance, releases, rules, services, tokens
from .core.api.base import TokenAuth

api = NinjaAPI(
    title="keepwell",
    version="1",
    description="keepwell's JSON API. Authenticate with `Authorization: Bearer <token>`; see docs/api.md.",
    urls_namespace="api",
    auth=TokenAuth(),
)
errors.install(api)

for module in (tokens, services, findings, alerting, rules, maintenance, releases, links):
    api.add_router("/", module.router)


def app_routers():
    """Yield (app label, router) for every installed keepwell app with a `router` in its api module."""
    for config in apps.get_app_configs():
        if not config.name.startswith("keepwell.") or config.name == "keepwell.core":
            continue
        name = f"{config.name}.api"
        if find_spec(name) is None:
            continue
        router = getattr(import_module(name), "router", None)
        if router is not None:
            yield config.label, router


for _label, _router in app_routers():
    api.add_router("/", _router)
