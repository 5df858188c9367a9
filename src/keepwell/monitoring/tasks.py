"""Jobs of the monitoring app; Huey finds this module, the jobs live beside the logic they run."""

from .heartbeat_tasks import *  # noqa: F401,F403
from .monitor_tasks import *  # noqa: F401,F403
