"""api_keys: to be written."""

from ninja import Router

router = Router(tags=["errors"])
