"""What every `keepwell` subcommand shares: clear errors, Django set-up, the database and data directory checks.

An app adds subcommands with a module `keepwell.<app>.cli` that defines `register(subparsers)`; see
keepwell.cli. Handlers raise CommandError for a user's mistake: the message goes to stderr, no traceback.
"""

import os
import tempfile
from pathlib import Path


class CommandError(Exception):
    """A mistake the user can fix: printed on stderr as is, then exit with `code` (1, or 2 for bad input)."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


# Processes that `keepwell up` runs besides web and jobs: (name, keepwell arguments). Apps add theirs from
# their cli.register (e.g. the prober, the SMTP receiver).
PROCESSES: list[tuple[str, list[str]]] = []


def add_process(name: str, args: list[str]) -> None:
    """Make `keepwell up` run `keepwell <args>` as part of its process tree."""
    if name not in {n for n, _ in PROCESSES}:
        PROCESSES.append((name, list(args)))


def data_dir() -> Path:
    """Return the data directory the settings will use (same rule as keepwell.settings.DATA_DIR)."""
    default = Path.home() / ".local" / "share" / "keepwell"
    return Path(os.environ.get("KEEPWELL_DATA_DIR") or default).expanduser()


def check_data_dir() -> Path:
    """Make sure the data directory exists and keepwell may write to it; raise CommandError otherwise."""
    path = data_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
        # os.access is not enough (root, read-only mounts, ACLs): really create a file.
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise CommandError(
            f"The data directory {path} is not writable ({exc.strerror or exc}). "
            "Set KEEPWELL_DATA_DIR to a folder keepwell may write to, or fix its permissions."
        ) from None
    return path


def setup_django() -> None:
    """Configure Django from KEEPWELL_* variables; turn start-up problems into clear errors."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keepwell.settings")
    try:
        django.setup()
    except OSError as exc:
        raise CommandError(
            f"keepwell cannot use its data directory {data_dir()} ({exc.strerror or exc}). "
            "Set KEEPWELL_DATA_DIR to a folder keepwell may write to."
        ) from None


def database_is_current() -> bool:
    """Return True when every model has its table and no migration waits to be applied."""
    from django.apps import apps
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return False
    tables = set(connection.introspection.table_names())
    return all(m._meta.db_table in tables for m in apps.get_models() if m._meta.managed)


def migrate(verbosity: int = 0) -> None:
    """Bring the database up to date: apply migrations, and create the tables of apps without any."""
    from django.core.management import call_command
    from django.db.utils import OperationalError

    try:
        call_command("migrate", run_syncdb=True, interactive=False, verbosity=verbosity)
    except OperationalError as exc:
        raise CommandError(f"The database does not answer: {exc}. Check KEEPWELL_DATABASE_URL.") from None


def ensure_database() -> None:
    """Migrate when the database is new or behind, so that any command works on a fresh data directory."""
    from django.db.utils import OperationalError

    try:
        current = database_is_current()
    except OperationalError as exc:
        raise CommandError(f"The database does not answer: {exc}. Check KEEPWELL_DATABASE_URL.") from None
    if not current:
        migrate()
