"""Durations as people write them in forms ("90s", "5m", "1h 30m", "2d") and as pages show them.

Pure functions, no Django.
"""

import re

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
WORDS = {
    "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "day": "d", "days": "d",
    "week": "w", "weeks": "w",
}  # fmt: skip
PART = re.compile(r"(\d+)\s*([a-z]*)")
MAX_INPUT = 60
MAX_SECONDS = 366 * 86400


def parse_duration(text: str) -> int:
    """Return the number of seconds `text` names ("300", "5m", "1h 30m", "2 days"); raise ValueError if not."""
    raw = str(text).strip().lower()
    if not raw:
        raise ValueError("Enter a duration, e.g. 30s, 5m, 1h or 1d.")
    if len(raw) > MAX_INPUT:
        raise ValueError(f"That duration is too long to read: use at most {MAX_INPUT} characters.")
    total, position, seen = 0, 0, set()
    compact = raw.replace(",", " ")
    for match in PART.finditer(compact):
        if compact[position : match.start()].strip():
            break
        if len(match.group(1)) > 9:
            raise ValueError("That is more than a year: choose a shorter duration.")
        number, unit = int(match.group(1)), match.group(2) or "s"
        unit = WORDS.get(unit, unit)
        if unit not in UNITS:
            raise ValueError(f"“{match.group(2)}” is not a unit: use s, m, h, d or w (e.g. 1h 30m).")
        if unit in seen:
            raise ValueError(f"The unit “{unit}” appears twice: write each unit once, e.g. 1h 30m.")
        seen.add(unit)
        total += number * UNITS[unit]
        position = match.end()
    if compact[position:].strip() or not seen:
        raise ValueError(f"“{raw[:20]}” is not a duration: write e.g. 30s, 5m, 1h 30m or 1d.")
    if total > MAX_SECONDS:
        raise ValueError("That is more than a year: choose a shorter duration.")
    return total


def format_duration(seconds: int | float | None) -> str:
    """Return `seconds` as the two largest units that matter: "1 h 30 min", "2 d", "45 s"."""
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    parts = []
    for name, size in (("w", 604800), ("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {name}")
        if len(parts) == 2:
            break
        if parts and not count:
            break
    return " ".join(parts)


def compact_duration(seconds: int) -> str:
    """Return `seconds` in the form parse_duration reads back exactly ("1h 30m", "45s")."""
    seconds = int(seconds)
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts)
