"""Error groups, events, releases health (owned by the grouping side)."""

__all__: list[str] = []
