"""In-process counters for /metrics (Prometheus text format)."""

import threading
from collections import Counter

_lock = threading.Lock()
_requests: Counter = Counter()
_duration = {"sum": 0.0, "count": 0}


def observe_request(method: str, status: int, seconds: float) -> None:
    with _lock:
        _requests[(method, str(status))] += 1
        _duration["sum"] += seconds
        _duration["count"] += 1


def request_counts() -> dict:
    with _lock:
        return dict(_requests), dict(_duration)
