"""The manual is complete: every setting, command, API endpoint and notification event is documented.

Like Datasette's docs tests, each list comes from the running code, so a new one without its documentation
fails here.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "keepwell"
DOCS = ROOT / "docs"


def page(name: str) -> str:
    """Return the text of docs/<name>, failing clearly when the page does not exist."""
    path = DOCS / name
    assert path.exists(), f"docs/{name} is missing: the manual must have it (see mkdocs.yml's nav)."
    return path.read_text()


ENV_CALL = re.compile(r"""\benv(?:bool|int)?\(\s*["']([A-Z][A-Z0-9_]*)["']""")
ENV_NAME = re.compile(r"\bKEEPWELL_[A-Z0-9_]+\b")


def settings_in_code() -> set[str]:
    """Return every KEEPWELL_* name the source reads or mentions (prefixes like KEEPWELL_EMAIL_* left out)."""
    names = set()
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        names.update(f"KEEPWELL_{name}" for name in ENV_CALL.findall(text))
        names.update(name for name in ENV_NAME.findall(text) if not name.endswith("_"))
    return names


def documented_settings() -> set[str]:
    """Return the names in the first column of the tables of docs/configuration.md."""
    text = page("configuration.md")
    return set(re.findall(r"^\|\s*`(KEEPWELL_[A-Z0-9_]+)`", text, re.MULTILINE))


def test_it_finds_the_settings_it_checks():
    # Guards the scanner itself: these are read through env(), envint() and os.environ.
    assert {"KEEPWELL_DATA_DIR", "KEEPWELL_WORKERS", "KEEPWELL_ENCRYPTION_KEY"} <= settings_in_code()


def test_it_documents_every_setting():
    missing = settings_in_code() - documented_settings()
    assert not missing, f"Add these to the table in docs/configuration.md: {sorted(missing)}"


def test_it_documents_no_setting_that_does_not_exist():
    stale = documented_settings() - settings_in_code()
    assert not stale, f"docs/configuration.md documents settings the code no longer reads: {sorted(stale)}"


def cli_commands():
    """Yield (command words, long options) for every command and subcommand of `keepwell`."""
    from keepwell.cli import build_parser

    def walk(parser, words):
        subparsers = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
        options = sorted(
            s for a in parser._actions for s in a.option_strings if s.startswith("--") and s != "--help"
        )
        if words:
            yield words, options
        for action in subparsers:
            for name, sub in action.choices.items():
                yield from walk(sub, (*words, name))

    yield from walk(build_parser(), ())


def cli_sections() -> dict[str, str]:
    """Return the text of each section of docs/cli.md by its heading's `keepwell ...` command."""
    text = page("cli.md")
    sections = {}
    for match in re.finditer(r"^#+ `(keepwell [^`]+)`\s*$(.*?)(?=^#+ |\Z)", text, re.MULTILINE | re.DOTALL):
        sections[match.group(1).strip()] = match.group(2)
    return sections


def test_it_documents_every_command_and_option():
    sections = cli_sections()
    problems = []
    for words, options in cli_commands():
        command = "keepwell " + " ".join(words)
        # A command with subcommands may be documented by its subcommands alone.
        has_children = any(w[: len(words)] == words and len(w) > len(words) for w, _ in cli_commands())
        if command not in sections:
            if not has_children:
                problems.append(f"a section '## `{command}`'")
            continue
        problems += [
            f"{option} in the section of `{command}`" for option in options if option not in sections[command]
        ]
    assert not problems, "docs/cli.md lacks: " + "; ".join(problems)


@pytest.mark.django_db
def test_it_documents_every_api_endpoint(client):
    schema = client.get("/api/v1/openapi.json").json()
    text = page("api.md")
    missing = [
        f"{method.upper()} /api/v1{path.removeprefix('/api/v1')}"
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
        and f"{method.upper()} /api/v1{path.removeprefix('/api/v1')}" not in text
    ]
    assert schema["paths"], "the OpenAPI document lists no endpoint"
    assert not missing, f"docs/api.md lacks: {missing}"


def test_it_documents_every_notification_event():
    from keepwell.core.alerting import EVENTS

    text = page("alerting.md")
    missing = [event for event in EVENTS if f"`{event}`" not in text]
    assert EVENTS
    assert not missing, f"docs/alerting.md lacks these events (as `name`): {missing}"


@pytest.mark.slow
def test_the_manual_builds_strictly(tmp_path):
    # `make test` runs `mkdocs build --strict` itself and deselects this test, so it runs once.
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
