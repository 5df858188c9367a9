"""A scratch keepwell database for one bench run: SQLite in a fresh data directory, or a PostgreSQL database
created on a server and dropped again, with the Python that gives it every table.

The bench scripts run as `python bench/x.py`, so bench/ is on sys.path and they `import _scratch_db`.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432"

# For `python -c` in the scratch environment: start Django on the scratch database and create every table
# straight from the models, as the test suite does. A bench's own set-up code follows it.
SCHEMA = """
import json, os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "keepwell.settings"
django.setup()
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
call_command("migrate", run_syncdb=True, verbosity=0)
# The tables are made from the models at once (quicker than the migrations); the migrations are then recorded
# as applied, since keepwell serve and worker refuse a database with unapplied migrations.
settings.MIGRATION_MODULES = {}
call_command("migrate", fake=True, verbosity=0)
"""


def add_database_options(parser, default: str) -> None:
    """Add --database (sqlite, postgres or both; `default`) and --postgres (the server) to `parser`."""
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default=default)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="server to create a scratch DB on")


def databases(choice: str) -> list[str]:
    """Return the databases a --database choice names, in the order they run."""
    return ["sqlite", "postgres"] if choice == "both" else [choice]


@dataclass(frozen=True)
class Scratch:
    data_dir: str
    database_url: str | None  # None: SQLite, the file keepwell.sqlite3 in data_dir

    def environ(self, **extra: str) -> dict[str, str]:
        """Return the environment for keepwell on the scratch database: this process's, without its KEEPWELL_*
        variables, running this checkout's code, logging warnings only, with a fixed secret key; then `extra`."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPWELL_")}
        env.update(
            PYTHONPATH=str(ROOT / "src"),
            KEEPWELL_LOG_LEVEL="WARNING",
            KEEPWELL_SECRET_KEY="bench-" + "x" * 50,
            KEEPWELL_DATA_DIR=self.data_dir,
        )
        if self.database_url:
            env["KEEPWELL_DATABASE_URL"] = self.database_url
        return {**env, **extra}


@contextmanager
def scratch_database(database: str, name: str, postgres: str, prefix: str) -> Iterator[Scratch]:
    """Yield a fresh data directory (named `prefix`...) and, for `database` "postgres", a database `name`
    created on the server `postgres`; drop the database (even with connections left open) and remove the
    directory afterwards."""
    data_dir = tempfile.mkdtemp(prefix=prefix)
    admin = f"{postgres.rstrip('/')}/postgres"
    database_url = None
    try:
        if database == "postgres":
            import psycopg

            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {name}")
            database_url = f"{postgres.rstrip('/')}/{name}"
        yield Scratch(data_dir, database_url)
    finally:
        if database_url:
            import psycopg

            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        shutil.rmtree(data_dir, ignore_errors=True)
