"""The security app's API: vulnerabilities, SBOM and VEX (api_vulns), secrets and posture (api_posture)."""

from ninja import Router

from . import api_posture, api_vulns

router = Router()
for _module in (api_vulns, api_posture):
    router.add_router("", _module.router)
