"""`keepwell up`, `serve` and `worker`: the processes that run the hub."""

import errno
import os
import secrets
import signal
import socket
import subprocess
import sys
import time

from . import PROCESSES, CommandError, check_data_dir, migrate, setup_django

# Seconds the children get to stop after SIGINT/SIGTERM before they are killed.
STOP_TIMEOUT = 20

# How `keepwell serve` runs uvicorn (tests and benchmarks serve keepwell the same way).
UVICORN_OPTIONS = {
    "lifespan": "off",  # Django's ASGI handler does not speak the lifespan protocol
    "server_header": False,
    # uvicorn would believe X-Forwarded-For and -Proto from 127.0.0.1 by itself: keepwell believes them only
    # from KEEPWELL_TRUSTED_PROXIES (keepwell.core.clientip, ForwardedProtoMiddleware).
    "proxy_headers": False,
    "timeout_graceful_shutdown": STOP_TIMEOUT // 2,
}


def register(subparsers) -> None:
    up = subparsers.add_parser(
        "up",
        help="run everything on one machine: web, jobs and the scheduler",
        description=(
            "Check the data directory and the port, apply database migrations, create a first admin "
            "(its password is printed once) when there is no user yet, then run the web server and the "
            "job consumer with its periodic scheduler as one process tree. Ctrl-C or SIGTERM stops all of "
            "them; if one of them dies the others are stopped and the exit code is 1."
        ),
    )
    up.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    up.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    up.add_argument("--workers", type=int, default=2, help="job consumer threads (default: 2)")
    up.set_defaults(func=up_command, django=False)

    serve = subparsers.add_parser(
        "serve",
        help="run only the web server (uvicorn, ASGI)",
        description=(
            "Run the web server alone, for installs that run web and jobs apart. It does not migrate, and refuses "
            "to start (exit code 2) while migrations wait: run `keepwell manage migrate` once after an upgrade."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    serve.add_argument("--workers", type=int, default=1, help="web server processes (default: 1)")
    serve.set_defaults(func=serve_command, django=False)

    worker = subparsers.add_parser(
        "worker",
        help="run only a job consumer (Huey)",
        description=(
            "Run a job consumer. Any number may run against Redis (KEEPWELL_REDIS_URL); exactly one of them "
            "should run the periodic scheduler, so start the others with --no-periodic. Like serve, it refuses "
            "to start (exit code 2) while migrations wait: run `keepwell manage migrate` first."
        ),
    )
    worker.add_argument("--workers", type=int, default=2, help="worker threads (default: 2)")
    worker.add_argument(
        "--no-periodic",
        action="store_true",
        help="do not schedule periodic jobs (run them in another worker)",
    )
    worker.set_defaults(func=worker_command)


def _positive(name: str, value: int) -> int:
    if value < 1:
        raise CommandError(f"{name} must be 1 or more, got {value}.", code=2)
    return value


def check_port_free(host: str, port: int) -> None:
    """Raise CommandError unless (host, port) can be listened on now."""
    if not 0 < port < 65536:
        raise CommandError(f"--port must be between 1 and 65535, got {port}.", code=2)
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror:
        raise CommandError(f"--host {host!r} is not an address of this machine.", code=2) from None
    with socket.socket(family, kind, proto) as s:
        # Like uvicorn: a port left in TIME_WAIT by a previous run is free, one someone listens on is not.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(
                    f"Port {port} on {host} is already in use. Stop the program using it, "
                    f"or choose another port with --port."
                ) from None
            raise CommandError(f"Cannot listen on {host}:{port} ({exc.strerror}).") from None


def create_first_admin() -> tuple[str, str] | None:
    """Create admin@localhost with a random password when there is no user at all; return (email, password)."""
    from keepwell.core.models import User

    if User.objects.exists():
        return None
    password = secrets.token_urlsafe(12)
    User.objects.create_superuser("admin@localhost", password)
    return "admin@localhost", password


def up_command(args) -> int:
    _positive("--workers", args.workers)
    check_data_dir()
    check_port_free(args.host, args.port)
    setup_django()
    migrate()
    created = create_first_admin()
    if created:
        print(f"created admin {created[0]}, password {created[1]}  (shown once: sign in and change it)")
    from django.db import connections

    connections.close_all()  # the children open their own; this process only supervises from here
    children = [
        ("web", ["serve", "--host", args.host, "--port", str(args.port)]),
        ("jobs", ["worker", "--workers", str(args.workers)]),
        *PROCESSES,
    ]
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"keepwell is running at http://{host}:{args.port}/  (Ctrl-C to stop)", flush=True)
    return supervise(children)


def _die_with_parent() -> None:
    """In a child: get SIGTERM when `keepwell up` dies, even by SIGKILL, so nothing is left behind."""
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the parent still stops its children on SIGINT/SIGTERM


def supervise(children: list[tuple[str, list[str]]]) -> int:
    """Run `keepwell <args>` for each child; stop all on SIGINT/SIGTERM or when one dies. Return the exit code."""
    received = []

    def on_signal(signum, frame):
        received.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    procs = []
    failed = None
    try:
        for name, args in children:
            # Each child gets its own session so a terminal's Ctrl-C reaches it once, through us.
            proc = subprocess.Popen(
                [sys.executable, "-m", "keepwell.cli", *args],
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
            procs.append((name, proc))
        while not received and failed is None:
            for name, proc in procs:
                if proc.poll() is not None:
                    failed = (name, proc.returncode)
                    break
            else:
                time.sleep(0.2)
    finally:
        _stop(procs)
        for s, handler in previous.items():
            signal.signal(s, handler)
    if failed is not None and not received:
        name, code = failed
        print(
            f"keepwell: the {name} process stopped unexpectedly (exit code {code}); stopped the others.",
            file=sys.stderr,
        )
        return 1
    return 0


def _stop(procs) -> None:
    for _name, proc in procs:
        if proc.poll() is None:
            # Graceful for both: uvicorn finishes requests in flight, the worker its running jobs.
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for _name, proc in procs:
        try:
            proc.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def database_lag() -> tuple[list[str], list[str]]:
    """Return the migrations (app.name) the database still needs, in order, and the tables it lacks."""
    from django.apps import apps
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor
    from django.db.utils import OperationalError

    connection = connections["default"]
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        # Apps without migrations get their tables from `migrate --run-syncdb` (as `keepwell up` runs it).
        tables = set(connection.introspection.table_names())
    except OperationalError as exc:
        raise CommandError(f"The database does not answer: {exc}. Check KEEPWELL_DATABASE_URL.") from None
    finally:
        connections.close_all()  # uvicorn's and Huey's threads open their own
    pending = [f"{migration.app_label}.{migration.name}" for migration, backwards in plan if not backwards]
    missing = sorted({m._meta.db_table for m in apps.get_models() if m._meta.managed} - tables)
    return pending, missing


def refuse_unmigrated(command: str) -> None:
    """Raise CommandError (exit code 2) when the database is behind: serve and worker never change the schema."""
    pending, missing = database_lag()
    if pending:
        plural = "s" if len(pending) != 1 else ""
        behind = f"{len(pending)} migration{plural} not applied yet (first {pending[0]})"
    elif missing:
        plural = "s" if len(missing) != 1 else ""
        behind = f"{len(missing)} table{plural} missing ({', '.join(missing[:3])})"
    else:
        return
    from django.db import connections

    name = connections["default"].settings_dict["NAME"]
    raise CommandError(
        f"The database ({name}) is behind this version of keepwell: {behind}. Run `keepwell manage migrate` "
        f"once (with the same KEEPWELL_* settings), then start `keepwell {command}` again. It never migrates "
        "by itself, so that machines sharing one database do not race to change it.",
        code=2,
    )


def serve_command(args) -> int:
    import uvicorn

    _positive("--workers", args.workers)
    check_port_free(args.host, args.port)
    setup_django()
    refuse_unmigrated("serve")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keepwell.settings")
    uvicorn.run(
        "keepwell.asgi:application", host=args.host, port=args.port, workers=args.workers, **UVICORN_OPTIONS
    )
    return 0


def worker_command(args) -> int:
    from django.core.management import call_command

    _positive("--workers", args.workers)
    refuse_unmigrated("worker")
    call_command(
        "run_huey",
        workers=args.workers,
        periodic=not args.no_periodic,
        # SIGTERM (systemd, Docker, `keepwell up`) lets running jobs finish; SIGINT interrupts them.
        graceful_signal="TERM",
        shutdown_timeout=float(STOP_TIMEOUT // 2),
    )
    return 0
