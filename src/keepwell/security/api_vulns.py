"""api_vulns: to be written."""

from ninja import Router

router = Router(tags=["security"])
