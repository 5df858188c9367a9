"""The errors app's API: DSN keys (api_keys) and error groups (api_groups)."""

from ninja import Router

from . import api_groups, api_keys

router = Router()
for _module in (api_keys, api_groups):
    router.add_router("", _module.router)
