"""Jobs of the monitoring app (see tasks.py)."""
