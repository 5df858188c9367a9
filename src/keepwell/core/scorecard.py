"""The scorecard: each practice registers one `status(service) -> PracticeStatus`.

The overview grid is honest: a practice with nothing configured (or not built yet) says "not set up".
"""

from collections.abc import Callable
from dataclasses import dataclass

OK, ATTENTION, FAILING, NOT_SET_UP = "ok", "attention", "failing", "not set up"
STATES = (OK, ATTENTION, FAILING, NOT_SET_UP)

# The eight practices, in the order the grid shows them: (key, column title). The `monitoring` practice
# is served by two apps (uptime and heartbeats in `monitoring`, error tracking in `errors`).
PRACTICES = [
    ("monitoring", "Monitoring"),
    ("support", "Support"),
    ("documentation", "Docs"),
    ("backups", "Backups"),
    ("releases", "Releases"),
    ("roadmap", "Roadmap"),
    ("dependencies", "Dependencies"),
    ("security", "Security"),
]


@dataclass(frozen=True)
class PracticeStatus:
    state: str
    reason: str
    url: str = ""

    def __post_init__(self):
        if self.state not in STATES:
            raise ValueError(f"state must be one of {STATES}, not {self.state!r}")


_registry: dict[str, list[Callable]] = {}
_SEVERITY = {NOT_SET_UP: 0, OK: 1, ATTENTION: 2, FAILING: 3}


def register(practice: str):
    """Register the decorated function as (a part of) the status of `practice` (a key of PRACTICES)."""
    if practice not in dict(PRACTICES):
        raise ValueError(f"unknown practice {practice!r}")

    def decorator(func):
        funcs = _registry.setdefault(practice, [])
        if func not in funcs:
            funcs.append(func)
        return func

    return decorator


def status(practice: str, service) -> PracticeStatus:
    """Return the practice's status for `service`: the worst of its parts that are set up."""
    funcs = _registry.get(practice)
    if not funcs:
        return PracticeStatus(NOT_SET_UP, "Not built yet.")
    results = [f(service) for f in funcs]
    return max(results, key=lambda r: _SEVERITY[r.state])


def row(service) -> list[tuple[str, str, PracticeStatus]]:
    """Return [(practice, title, status)] for one service, in grid order."""
    return [(p, title, status(p, service)) for p, title in PRACTICES]
