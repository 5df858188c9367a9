"""Settings for the test suite: a throw-away data directory, the test database and Redis if given.

KEEPWELL_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) runs the suite on PostgreSQL;
KEEPWELL_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15) puts the cache and job queue on Redis.
"""

import os
import tempfile

os.environ.setdefault("KEEPWELL_DATA_DIR", tempfile.mkdtemp(prefix="keepwell-test-"))
os.environ.setdefault("KEEPWELL_BASE_URL", "http://testserver")
os.environ.pop("KEEPWELL_DATABASE_URL", None)
os.environ.pop("KEEPWELL_REDIS_URL", None)
if os.environ.get("KEEPWELL_TEST_DATABASE_URL"):
    os.environ["KEEPWELL_DATABASE_URL"] = os.environ["KEEPWELL_TEST_DATABASE_URL"]
if os.environ.get("KEEPWELL_TEST_REDIS_URL"):
    os.environ["KEEPWELL_REDIS_URL"] = os.environ["KEEPWELL_TEST_REDIS_URL"]

from keepwell.settings import *  # noqa: E402,F403
from keepwell.settings import ALLOWED_HOSTS, DATABASES, HUEY  # noqa: E402

ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
# Jobs run at once, in the test's own process; on Redis they still go through the real queue.
HUEY = {**HUEY, "immediate": True, "immediate_use_memory": not os.environ.get("KEEPWELL_TEST_REDIS_URL")}
# Hashing with argon2 costs ~50 ms a password; tests create hundreds of users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Several checkouts (or people) may test on one server at once: each names its own test database.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get(
        "KEEPWELL_TEST_DATABASE_NAME", "keepwell_test"
    )

# Each pytest-xdist worker gets a cache of its own: the tests clear the cache, and one worker's clear (or its
# page under the same status-page slug) must not reach into another's test. Without Redis the cache is a
# folder in the data directory, which the workers share; with Redis each worker takes the database below the
# one given (gw0: the one given, gw1: one lower, ...).
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER.startswith("gw") and _WORKER[2:].isdigit():
    from urllib.parse import urlsplit, urlunsplit

    from keepwell.settings import CACHES  # noqa: E402

    _default = dict(CACHES["default"])
    if _default["BACKEND"].endswith("RedisCache"):
        _url = urlsplit(_default["LOCATION"])
        _db = max(0, int(_url.path.strip("/") or 0) - int(_WORKER[2:]))
        _default["LOCATION"] = urlunsplit(_url._replace(path=f"/{_db}"))
    else:
        _default["LOCATION"] = os.path.join(_default["LOCATION"], _WORKER)
    CACHES = {**CACHES, "default": _default}
