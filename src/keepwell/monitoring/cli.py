"""`keepwell prober`: run uptime checks here or from a remote location; `keepwell prober token create`."""

import asyncio
import logging
import os
import signal
import sys
from urllib.parse import urlsplit

from keepwell.commands import CommandError, add_process

# How often a running prober logs what it did.
LOG_EVERY = 60.0


def register(subparsers) -> None:
    prober = subparsers.add_parser(
        "prober",
        help="run uptime checks (here, or at a remote location with --hub)",
        description=(
            "Run the uptime checks that are due, many at once. Without --hub it works on the hub's database "
            "at the location 'local' (any number of them share the work through leases). With --hub, --token "
            "and --location it is a remote prober: it pulls its checks from the hub over the API and pushes "
            "the results back. SIGTERM or Ctrl-C stops it cleanly."
        ),
    )
    prober.add_argument("--hub", metavar="URL", help="the hub's address, e.g. https://keepwell.example.com")
    prober.add_argument(
        "--token",
        metavar="T",
        help="the prober token (or set KEEPWELL_PROBER_TOKEN, which keeps it out of ps)",
    )
    prober.add_argument(
        "--location", metavar="NAME", help="the remote prober's location; must match its token's"
    )
    prober.add_argument(
        "--concurrency", type=int, default=200, metavar="N", help="checks running at once (default: 200)"
    )
    prober.set_defaults(func=prober_command, django=False)

    actions = prober.add_subparsers(dest="prober_action", metavar="ACTION")
    token = actions.add_parser("token", help="manage prober tokens", description="Manage prober tokens.")
    token_actions = token.add_subparsers(dest="token_action", metavar="ACTION", required=True)
    create = token_actions.add_parser(
        "create",
        help="create a token for a remote prober (printed alone on the last line)",
        description=(
            "Create a token for a remote prober at LOCATION that checks the monitors of the organization. "
            "The token is printed once, alone on the last line of standard output; only its hash is stored."
        ),
    )
    create.add_argument(
        "--org", required=True, metavar="SLUG", help="the organization whose monitors it checks"
    )
    create.add_argument("--location", required=True, metavar="NAME", help="where it runs, e.g. frankfurt")
    create.set_defaults(func=token_create, django=True)

    add_process("prober", ["prober"])


def token_create(args) -> int:
    from keepwell.commands import ensure_database
    from keepwell.core.models import Organization

    from .models import Prober

    location = _location(args.location, for_token=True)
    ensure_database()
    org = Organization.objects.filter(slug=args.org.strip()).first()
    if org is None:
        raise CommandError(f"There is no organization {args.org!r}. Create it with: keepwell org create ...")
    _, plain = Prober.issue(org, location)
    # The explanation goes to stderr so that TOKEN=$(keepwell prober token create ...) captures the token alone.
    print(f"Created a prober token for {location} in {org.slug}. It is shown once:", file=sys.stderr)
    print(plain)
    return 0


def _location(value: str, for_token: bool = False) -> str:
    """Return the --location given, checked as the prober tokens page checks it (prober/wire.py); 'local'
    names no token's location, but a prober may still be started with it (the hub then refuses it)."""
    from .prober.wire import LOCAL, clean_location

    try:
        value = clean_location(value)
    except ValueError as exc:
        if (value or "").strip() == LOCAL and not for_token:
            return LOCAL
        raise CommandError(f"--location {exc}", code=2) from None
    return value


def prober_command(args) -> int:
    from .prober import local, runner

    if not 1 <= args.concurrency <= 10_000:
        raise CommandError(f"--concurrency must be between 1 and 10000, got {args.concurrency}.", code=2)
    token = args.token or os.environ.get("KEEPWELL_PROBER_TOKEN", "")
    if args.hub:
        parts = urlsplit(args.hub)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CommandError(f"--hub must be the hub's http(s) address, got {args.hub!r}.", code=2)
        if not token:
            raise CommandError(
                "A remote prober needs its token: --token T or KEEPWELL_PROBER_TOKEN. Create one on the hub "
                "with `keepwell prober token create --org SLUG --location NAME`.",
                code=2,
            )
        location = _location(args.location) if args.location else None
        _configure_logging()
        _configure_outbound_guard()
        from .prober.remote import RemoteBackend

        backend = RemoteBackend(args.hub, token, location)
        where = f"remote prober for {args.hub}"
    else:
        if args.token or args.location:
            raise CommandError("--token and --location are for a remote prober: give --hub too.", code=2)
        from keepwell.commands import setup_django

        setup_django()
        backend = local.DatabaseBackend(runner.prober_name("local"))
        where = "local prober"
    prober = runner.Prober(backend, concurrency=args.concurrency)
    asyncio.run(_serve(prober, where))
    if prober.fatal:
        raise CommandError(prober.fatal)
    return 0


def _configure_outbound_guard() -> None:
    """Give a remote prober (no database, no data directory) the one setting its probes read."""
    from django.conf import settings

    if not settings.configured:
        allow = os.environ.get("KEEPWELL_ALLOW_PRIVATE_TARGETS", "").strip().lower() in (
            "1",
            "true",
            "yes",
            "on",
        )
        settings.configure(ALLOW_PRIVATE_TARGETS=allow)


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=os.environ.get("KEEPWELL_LOG_LEVEL", "INFO").upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )


async def _serve(prober, where: str) -> None:
    """Run `prober` until SIGTERM or SIGINT; log what it did every minute."""
    from .prober.runner import log

    # httpx logs every request at INFO: thousands a minute here.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log.info("%s started, %d checks at a time", where, prober.concurrency)
    reporter = asyncio.create_task(_log_progress(prober, stop))
    try:
        await prober.run(stop)
    finally:
        reporter.cancel()
        await prober.backend.close()
    log.info("%s stopped after %d checks", where, prober.stats.checks)


async def _log_progress(prober, stop) -> None:
    from .prober.runner import log
    from .prober.scheduler import percentile

    seen = 0
    while not stop.is_set():
        await asyncio.sleep(LOG_EVERY)
        lags = prober.stats.lags[seen:]
        seen = len(prober.stats.lags)
        if lags:
            log.info(
                "%d checks in the last minute, lag p50 %.2f s, p99 %.2f s",
                len(lags),
                percentile(lags, 50),
                percentile(lags, 99),
            )
