"""The errors app's models: DSN keys and the ingest spool (keys.py), groups and events (groups.py)."""

from .groups import *  # noqa: F403
from .keys import *  # noqa: F403
