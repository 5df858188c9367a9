"""End of life: runtimes found in a repository, the shipped snapshot, the live API through the cache."""

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from keepwell.dependencies import eol, runtimes


def write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_it_finds_python_node_and_databases_where_they_are_declared(tmp_path):
    write(
        tmp_path,
        {
            ".python-version": "3.8.18\n",
            "runtime.txt": "python-3.11.4\n",
            "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.9"\n',
            "Dockerfile": "FROM python:3.10-slim AS base\nFROM --platform=linux/amd64 node:18-alpine\n",
            "web/package.json": json.dumps({"engines": {"node": ">=16.0.0"}}),
            ".nvmrc": "v20.11.0\n",
            "docker-compose.yml": "services:\n  db:\n    image: postgres:13.4\n  cache:\n    image: 'redis:7.2-alpine'\n",
            "node_modules/x/Dockerfile": "FROM python:2.7\n",
        },
    )
    data = eol.load_snapshot()
    found = {(r.product, r.version, r.source) for r in runtimes.find(tmp_path, eol.cycles_of(data))}
    assert found == {
        ("python", "3.8.18", ".python-version"),
        ("python", "3.11.4", "runtime.txt"),
        ("python", "3.9", "pyproject.toml"),
        ("python", "3.10", "Dockerfile"),
        ("nodejs", "18", "Dockerfile"),
        ("nodejs", "16", "web/package.json"),
        ("nodejs", "20.11.0", ".nvmrc"),
        ("postgresql", "13.4", "docker-compose.yml"),
        ("redis", "7.2", "docker-compose.yml"),
    }


def test_it_ignores_images_it_cannot_date(tmp_path):
    write(tmp_path, {"Dockerfile": "FROM python:latest\nFROM ${BASE}\nFROM scratch\nFROM nginx:1.25\n"})
    assert runtimes.find(tmp_path) == []


def test_it_reads_malformed_manifests_without_raising(tmp_path):
    write(
        tmp_path,
        {"pyproject.toml": "[project\nrequires-python = ", "package.json": "{nope", ".nvmrc": "lts/*"},
    )
    assert runtimes.find(tmp_path) == []


@pytest.mark.parametrize(
    "product, version, today, status",
    [
        ("python", "3.8", date(2026, 1, 1), eol.PAST),
        ("python", "3.10.4", date(2026, 6, 1), eol.APPROACHING),
        ("python", "3.13", date(2026, 6, 1), eol.SUPPORTED),
        ("nodejs", "18.17.0", date(2026, 1, 1), eol.PAST),
        ("nodejs", "22", date(2026, 12, 1), eol.APPROACHING),
        ("postgresql", "13.4", date(2024, 1, 1), eol.SUPPORTED),
        ("python", "9.9", date(2026, 1, 1), eol.UNKNOWN),
    ],
)
def test_it_says_whether_a_runtime_is_past_or_near_its_end_of_life(product, version, today, status):
    result = eol.evaluate(runtimes.Runtime(product, version, "x"), eol.load_snapshot(), today, warn_days=180)
    assert result.status == status


def test_it_reads_the_end_of_life_date_of_python_from_the_snapshot():
    result = eol.evaluate(runtimes.Runtime("python", "3.9.1", "x"), eol.load_snapshot(), date(2025, 1, 1))
    assert (result.cycle, result.eol, result.days_left) == ("3.9", date(2025, 10, 31), 303)


class EolApi:
    def __init__(self, answers):
        self.answers, self.requests = answers, []

    def __enter__(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                api.requests.append(self.path)
                code, body = api.answers.get(self.path, (404, b"{}"))
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_it_refreshes_from_the_live_api_through_the_cache(tmp_path):
    live = json.dumps([{"cycle": "3.9", "eol": "2099-01-01"}, {"cycle": "2.7", "eol": True}]).encode()
    with EolApi({"/api/python.json": (200, live)}) as api:
        data = eol.load(("python",), base_url=api.url, cache_dir=tmp_path)
        again = eol.load(("python",), base_url=api.url, cache_dir=tmp_path)
    assert data["python"]["3.9"]["eol"] == "2099-01-01"
    assert again == data
    assert api.requests == ["/api/python.json"]  # the second load answered from the cache
    past = eol.evaluate(runtimes.Runtime("python", "2.7.18", "x"), data, date(2020, 1, 1))
    assert past.status == eol.PAST and past.eol is None


def test_it_keeps_the_snapshot_when_the_live_api_fails_or_lies(tmp_path):
    with EolApi({"/api/python.json": (200, b'{"not": "a list"}'), "/api/django.json": (500, b"")}) as api:
        data = eol.load(("python", "django"), base_url=api.url, cache_dir=tmp_path)
    assert data == eol.load_snapshot(("python", "django"))


def test_it_asks_nothing_when_offline(tmp_path):
    with EolApi({}) as api:
        data = eol.load(("python",), base_url=api.url, cache_dir=tmp_path, offline=True)
    assert api.requests == [] and "3.9" in data["python"]


@pytest.mark.parametrize(
    "doc",
    [
        [{"cycle": None}, 5, "x", {"cycle": "3.9", "eol": {"nested": 1}}],
        [{"cycle": "1" * 10000, "eol": "soon"}],
    ],
)
def test_it_reads_hostile_live_answers_without_trusting_them(doc):
    cycles = eol.parse_live(doc)
    for value in cycles.values():
        assert value["eol"] is None or isinstance(value["eol"], str | bool)
    result = eol.evaluate(runtimes.Runtime("python", "3.9", "x"), {"python": cycles}, date(2026, 1, 1))
    assert result.status in (eol.SUPPORTED, eol.UNKNOWN, eol.PAST)
