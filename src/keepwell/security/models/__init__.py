"""The security app's models: vulnerabilities and VEX (vulns.py), secrets and web posture (posture.py)."""

from .posture import *  # noqa: F403
from .vulns import *  # noqa: F403
