"""End of life from endoflife.date: a snapshot shipped in the package, refreshed from the live API. No Django.

The snapshot (data/endoflife/<product>.json) maps each release cycle ("3.11", "20", "4.2") to its dates. When
the live API (`<base>/api/<product>.json`) answers, its cycles replace the snapshot's; it is asked through the
same on-disk cache as the registries, at most once per cache lifetime, and never when offline.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx

from .registry import Cache
from .runtimes import Runtime

DATA = Path(__file__).parent / "data" / "endoflife"
PRODUCTS = ("python", "nodejs", "django", "postgresql", "redis", "mariadb", "mongodb")
PAST, APPROACHING, SUPPORTED, UNKNOWN = "past", "approaching", "supported", "unknown"
LABELS = {
    "python": "Python",
    "nodejs": "Node.js",
    "django": "Django",
    "postgresql": "PostgreSQL",
    "redis": "Redis",
    "mariadb": "MariaDB",
    "mongodb": "MongoDB",
}


@dataclass(frozen=True)
class EolStatus:
    product: str
    version: str
    cycle: str | None  # the release cycle it belongs to; None when the data has no such cycle
    eol: date | None  # None: no date known (or not announced yet)
    status: str  # PAST, APPROACHING, SUPPORTED or UNKNOWN
    days_left: int | None
    source: str
    line: int | None = None
    declared: str = ""

    @property
    def label(self) -> str:
        return f"{LABELS.get(self.product, self.product)} {self.cycle or self.version}"


def _eol_value(value):
    """Return a date, True (ended, date unknown), False (not ended) or None from an endoflife.date field."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def load_snapshot(products=PRODUCTS) -> dict[str, dict[str, dict]]:
    """Return {product: {cycle: {"eol": ...}}} from the shipped snapshot."""
    data = {}
    for product in products:
        try:
            doc = json.loads((DATA / f"{product}.json").read_text())
        except (OSError, ValueError):
            continue
        releases = doc.get("releases") if isinstance(doc, dict) else None
        if isinstance(releases, dict):
            data[product] = {str(k): v for k, v in releases.items() if isinstance(v, dict)}
    return data


def parse_live(doc) -> dict[str, dict]:
    """Return {cycle: {"eol": ...}} from the live API's answer (a list of cycles)."""
    if not isinstance(doc, list):
        raise ValueError("the endoflife.date answer is not a list of release cycles")
    out = {}
    for item in doc:
        if isinstance(item, dict) and item.get("cycle") is not None:
            eol = item.get("eol")
            out[str(item["cycle"])] = {"eol": eol if isinstance(eol, bool | str) else None}
    return out


def load(
    products=PRODUCTS,
    *,
    base_url: str = "https://endoflife.date",
    cache_dir: Path | str | None = None,
    offline: bool = False,
    ttl: int = 86400,
    timeout: float = 5.0,
    guard=None,
) -> dict[str, dict[str, dict]]:
    """Return the cycles of `products`: the live API's where it answers (or was cached), else the snapshot's."""
    data = load_snapshot(products)
    cache = Cache(cache_dir)
    base_url = base_url.rstrip("/")
    if not offline and guard is not None:
        try:
            guard(base_url)
        except ValueError:
            offline = True
    client = None
    try:
        for product in products:
            url = f"{base_url}/api/{product}.json"
            entry = cache.get(url)
            if entry is not None and (offline or time.time() - entry.get("stored", 0) < ttl):
                data[product] = entry["data"]
                continue
            if offline or not base_url:
                continue
            if client is None:
                client = httpx.Client(timeout=timeout, headers={"Accept": "application/json"})
            try:
                response = client.get(url)
                cycles = parse_live(response.json()) if response.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                cycles = None
            if cycles:
                cache.put(url, {"stored": time.time(), "data": cycles})
                data[product] = cycles
            elif entry is not None:
                data[product] = entry["data"]
            else:
                # Not answering: keep the snapshot, and do not ask again for every service in this run.
                offline = True
    finally:
        if client is not None:
            client.close()
    return data


def match_cycle(cycles, version: str) -> str | None:
    """Return the cycle `version` belongs to ("3.11.4" → "3.11", "20.1.0" → "20"), or None."""
    parts = [p for p in version.split(".") if p.isdigit()]
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in cycles:
            return candidate
    return None


def evaluate(runtime: Runtime, data: dict, today: date, warn_days: int = 180) -> EolStatus:
    """Return the end-of-life status of one declared runtime on `today`."""
    cycles = data.get(runtime.product, {})
    cycle = match_cycle(cycles, runtime.version)
    value = _eol_value(cycles[cycle].get("eol")) if cycle else None
    if cycle is None or value is None or value is False:
        status = UNKNOWN if cycle is None else SUPPORTED
        return EolStatus(
            runtime.product,
            runtime.version,
            cycle,
            None,
            status,
            None,
            runtime.source,
            runtime.line,
            runtime.declared,
        )
    if value is True:
        return EolStatus(
            runtime.product,
            runtime.version,
            cycle,
            None,
            PAST,
            None,
            runtime.source,
            runtime.line,
            runtime.declared,
        )
    days = (value - today).days
    status = PAST if days < 0 else APPROACHING if days <= warn_days else SUPPORTED
    return EolStatus(
        runtime.product,
        runtime.version,
        cycle,
        value,
        status,
        days,
        runtime.source,
        runtime.line,
        runtime.declared,
    )


def cycles_of(data: dict) -> dict[str, list[str]]:
    return {product: list(cycles) for product, cycles in data.items()}
