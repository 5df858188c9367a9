"""The monitoring app's models, one module per idea."""

from .alertmanager import AlertmanagerHook
from .heartbeats import Heartbeat, Ping, PingKey
from .monitors import CheckResult, Monitor, Rollup
from .probers import Prober, ProberLease
from .statuspages import Incident, IncidentUpdate, StatusComponent, StatusPage

__all__ = [
    "AlertmanagerHook",
    "CheckResult",
    "Heartbeat",
    "Incident",
    "IncidentUpdate",
    "Monitor",
    "Ping",
    "PingKey",
    "Prober",
    "ProberLease",
    "Rollup",
    "StatusComponent",
    "StatusPage",
]
