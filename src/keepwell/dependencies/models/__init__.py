"""The dependencies app's models: scans with what they found, and update proposals."""

from .proposals import Proposal
from .scans import RuntimeStatus, Scan, ScannedDependency

__all__ = ["Proposal", "RuntimeStatus", "Scan", "ScannedDependency"]
