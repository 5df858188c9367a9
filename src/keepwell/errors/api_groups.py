"""api_groups: to be written."""

from ninja import Router

router = Router(tags=["errors"])
