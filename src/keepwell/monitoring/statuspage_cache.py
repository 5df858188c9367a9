"""The cache in front of public status pages: serve a copy, rebuild it once, never let a crowd rebuild it.

Each entry is (fresh_until, text). A stale entry is still served while one request, holding a short lock,
rebuilds it; so neither the TTL running out nor the team posting an update during a traffic spike sends the
crowd to the database. Only an address that must stop answering (a page deleted, hidden or renamed) is dropped.
"""

import time

from django.conf import settings
from django.core.cache import cache

WHAT = ("html", "feed")
STALE_SECONDS = 600  # how long a stale copy may stand in while it is rebuilt
LOCK_SECONDS = 60  # a rebuild that crashed holds the lock no longer than this


def key(slug: str, what: str) -> str:
    """Return the cache key of the public page (`html`) or feed (`feed`) of `slug`."""
    return f"keepwell:status-page:{slug}:{what}"


def get_or_build(slug: str, what: str, build) -> str:
    """Return the cached text for `slug`, calling `build()` when it is missing or stale (once at a time)."""
    entry_key = key(slug, what)
    entry = cache.get(entry_key)
    now = time.time()
    if entry is not None and entry[0] > now:
        return entry[1]
    lock = entry_key + ":lock"
    if entry is not None and not cache.add(lock, 1, LOCK_SECONDS):
        return entry[1]  # another request is rebuilding it: the stale copy stands in meanwhile
    try:
        text = build()
        ttl = settings.STATUS_PAGE_CACHE_SECONDS
        cache.set(entry_key, (time.time() + ttl, text), ttl + STALE_SECONDS)
    finally:
        if entry is not None:
            cache.delete(lock)
    return text


def mark_stale(slugs) -> None:
    """Have the next request rebuild the pages of `slugs` (the others keep the current copy until then)."""
    for slug in slugs:
        for what in WHAT:
            entry = cache.get(key(slug, what))
            if entry is not None:
                cache.set(key(slug, what), (0, entry[1]), STALE_SECONDS)


def drop(slugs) -> None:
    """Forget the pages of `slugs` at once (their address must stop answering)."""
    cache.delete_many([key(slug, what) for slug in slugs for what in WHAT])
