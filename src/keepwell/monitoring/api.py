"""The monitoring app's API: monitors, heartbeats, probers and status pages (one module each)."""

from ninja import Router

from . import api_heartbeats, api_monitors, api_prober, api_statuspages

router = Router()
for _module in (api_monitors, api_heartbeats, api_prober, api_statuspages):
    router.add_router("", _module.router)
