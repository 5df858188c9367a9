"""The prober: runs uptime checks on schedule, alone or with other probers sharing the work through leases.

scheduler.py is the pure timing (jitter, lag), leases.py claims and completes checks in the database,
runner.py is the asyncio loop, remote.py the client of a remote prober that talks to the hub over the API.
"""
