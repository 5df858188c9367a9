"""The `keepwell` command.

Core's subcommands live in keepwell.commands. Any app adds its own with a module `keepwell.<app>.cli` that
defines `register(subparsers)` (discovered here, like the API routers): each parser sets `func=handler`;
the handler gets the parsed arguments after Django is set up (set `django=False` to run without a data
directory or database, as CI-side commands do), returns an exit code, and raises
keepwell.commands.CommandError for a user's mistake.
"""

import argparse
import importlib
import importlib.util
import pkgutil
import sys

import keepwell

from .commands import CommandError, admin, processes, setup_django


def app_cli_modules() -> list:
    """Return the `cli` modules of keepwell's apps, in name order."""
    modules = []
    for info in sorted(pkgutil.iter_modules(keepwell.__path__), key=lambda i: i.name):
        if not info.ispkg or info.name == "commands":
            continue
        name = f"keepwell.{info.name}.cli"
        if importlib.util.find_spec(name) is not None:
            modules.append(importlib.import_module(name))
    return modules


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every command, core's and the apps'."""
    parser = argparse.ArgumentParser(
        prog="keepwell",
        description="keepwell keeps a team's software alive. Run `keepwell up` to start it on this machine.",
        epilog="Settings come from KEEPWELL_* environment variables; see docs/configuration.md.",
    )
    parser.add_argument("--version", action="version", version=f"keepwell {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    processes.register(subparsers)
    admin.register(subparsers)
    for module in app_cli_modules():
        module.register(subparsers)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("keepwell")
    except PackageNotFoundError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    """Run the command line `argv` (default: sys.argv[1:]); return its exit code (the script exits with it)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv[:1] == ["manage"]:
            # Everything after `manage` belongs to Django, --help included.
            setup_django()
            return _exit(admin.manage_command(argparse.Namespace(arguments=argv[1:])))
        args = build_parser().parse_args(argv)
        if getattr(args, "django", True):
            setup_django()
        return _exit(args.func(args))
    except CommandError as exc:
        print(f"keepwell: error: {exc}", file=sys.stderr)
        return _exit(exc.code)
    except KeyboardInterrupt:
        return _exit(130)


def _exit(code) -> int:
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
