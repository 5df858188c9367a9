"""Jobs of the monitoring app (see tasks.py): the hourly downsampling of monitor check results."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from . import history


@db_periodic_task(crontab(minute="17"))
def downsample_monitor_results():
    """Fold old raw results into hourly rollups and old hourly rollups into daily ones (idempotent)."""
    return history.downsample()
