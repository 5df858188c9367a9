"""The registry client against a fake PyPI and npm on loopback: cache, revalidation, retries, offline mode."""

import json
import os
import time

import pytest
from deps_registry_server import Registry, start

from keepwell.dependencies.registry import RegistryClient, summarize_npm, summarize_pypi


@pytest.fixture
def registry():
    reg = Registry()
    reg.add_pypi("tinylib", "1.0.0", 0)
    reg.add_pypi("tinylib", "1.1.0", 100, yanked=True, reason="broke imports")
    reg.add_pypi("tinylib", "1.2.0", 200)
    reg.add_pypi("tinylib", "2.0.0rc1", 300)
    reg.add_npm("left-pad", "1.0.0", 0)
    reg.add_npm("left-pad", "1.3.0", 50, deprecated="use String.prototype.padStart()")
    reg.add_npm("@scope/pkg", "0.1.0", 10)
    reg, stop = start(reg)
    yield reg
    stop()


def client(reg, cache, **kw):
    kw.setdefault("backoff", 0.01)
    return RegistryClient(pypi_url=reg.url, npm_url=reg.url + "/npm", cache_dir=cache, **kw)


def test_it_reads_release_times_and_flags_from_both_registries(registry, tmp_path):
    got = client(registry, tmp_path).fetch([("PyPI", "tinylib"), ("npm", "left-pad"), ("npm", "@scope/pkg")])
    tiny = got[("PyPI", "tinylib")]
    assert set(tiny.releases) == {"1.0.0", "1.1.0", "1.2.0", "2.0.0rc1"}
    assert tiny.releases["1.1.0"].yanked and tiny.releases["1.1.0"].yanked_reason == "broke imports"
    assert tiny.releases["1.2.0"].released.isoformat() == "2020-07-19T00:00:00+00:00"
    pad = got[("npm", "left-pad")]
    assert pad.latest_tag == "1.3.0"
    assert pad.releases["1.3.0"].deprecated == "use String.prototype.padStart()"
    assert got[("npm", "@scope/pkg")].releases["0.1.0"].released is not None
    assert "/npm/@scope%2Fpkg" in registry.requests or "/npm/@scope/pkg" in registry.requests


def test_it_answers_a_warm_scan_from_the_cache_without_requests(registry, tmp_path):
    first = client(registry, tmp_path)
    first.fetch([("PyPI", "tinylib"), ("npm", "left-pad")])
    assert first.requests == 2
    second = client(registry, tmp_path)
    got = second.fetch([("PyPI", "tinylib"), ("npm", "left-pad")])
    assert second.requests == 0 and second.cache_hits == 2
    assert "1.2.0" in got[("PyPI", "tinylib")].releases


def test_it_revalidates_with_the_etag_once_the_entry_is_old(registry, tmp_path):
    client(registry, tmp_path).fetch([("PyPI", "tinylib")])
    registry.requests.clear()
    again = client(registry, tmp_path, ttl=0)
    got = again.fetch([("PyPI", "tinylib")])
    assert again.requests == 1 and again.cache_hits == 1  # a 304
    assert "1.2.0" in got[("PyPI", "tinylib")].releases
    registry.add_pypi("tinylib", "1.3.0", 400)
    newer = client(registry, tmp_path, ttl=0).fetch([("PyPI", "tinylib")])
    assert "1.3.0" in newer[("PyPI", "tinylib")].releases


def test_it_retries_with_backoff_when_the_registry_fails(registry, tmp_path):
    registry.fail_next["tinylib"] = 2
    c = client(registry, tmp_path, retries=3)
    got = c.fetch([("PyPI", "tinylib")])
    assert not got[("PyPI", "tinylib")].error
    assert c.requests == 3


def test_it_gives_up_after_its_retries_and_says_why(registry, tmp_path):
    registry.fail_next["tinylib"] = 10
    got = client(registry, tmp_path, retries=1).fetch([("PyPI", "tinylib")])
    assert got[("PyPI", "tinylib")].error == "the registry answered HTTP 503"


def test_it_falls_back_to_an_old_cache_entry_when_the_registry_fails(registry, tmp_path):
    client(registry, tmp_path).fetch([("PyPI", "tinylib")])
    registry.fail_next["tinylib"] = 10
    got = client(registry, tmp_path, retries=0, ttl=0).fetch([("PyPI", "tinylib")])
    assert got[("PyPI", "tinylib")].stale and "1.2.0" in got[("PyPI", "tinylib")].releases


def test_it_answers_offline_from_the_cache_only(registry, tmp_path):
    client(registry, tmp_path).fetch([("PyPI", "tinylib")])
    registry.requests.clear()
    got = client(registry, tmp_path, offline=True, ttl=0).fetch([("PyPI", "tinylib"), ("npm", "left-pad")])
    assert registry.requests == []
    assert "1.2.0" in got[("PyPI", "tinylib")].releases
    assert got[("npm", "left-pad")].error == "not in the cache, and the scan is offline"


def test_it_reports_unknown_packages_and_refuses_odd_names(registry, tmp_path):
    got = client(registry, tmp_path).fetch([("PyPI", "nope"), ("PyPI", "../../admin"), ("npm", "a b")])
    assert got[("PyPI", "nope")].error == f"not found on {registry.url}"
    assert "not a valid PyPI package name" in got[("PyPI", "../../admin")].error
    assert "not a valid npm package name" in got[("npm", "a b")].error
    assert all("admin" not in r for r in registry.requests)


def test_it_refuses_an_answer_larger_than_its_limit(registry, tmp_path):
    got = client(registry, tmp_path, max_bytes=100).fetch([("PyPI", "tinylib")])
    assert "larger than 100 bytes" in got[("PyPI", "tinylib")].error


def test_it_asks_nothing_of_a_registry_the_guard_refuses(registry, tmp_path):
    def guard(url):
        raise ValueError("loopback is not allowed")

    got = client(registry, tmp_path, guard=guard).fetch([("PyPI", "tinylib")])
    assert "loopback is not allowed" in got[("PyPI", "tinylib")].error
    assert registry.requests == []


def test_it_survives_a_damaged_cache_file(registry, tmp_path):
    client(registry, tmp_path).fetch([("PyPI", "tinylib")])
    for root, _, files in os.walk(tmp_path):
        for f in files:
            with open(os.path.join(root, f), "w") as fh:
                fh.write("{half")
    got = client(registry, tmp_path).fetch([("PyPI", "tinylib")])
    assert "1.2.0" in got[("PyPI", "tinylib")].releases


@pytest.mark.parametrize(
    "doc",
    [
        None,
        [],
        "x",
        {"releases": []},
        {"releases": {"1.0": "files"}},
        {"releases": {"1.0": [{"upload_time": 5}]}},
    ],
)
def test_it_reads_malformed_pypi_documents_without_crashing(doc):
    try:
        summary = summarize_pypi(doc)
    except ValueError as exc:
        assert "not a PyPI JSON API document" in str(exc)
    else:
        assert all(r[1] is None for r in summary["releases"])


@pytest.mark.parametrize(
    "doc",
    [
        None,
        {"versions": []},
        {"versions": {"1.0.0": None}, "time": {"1.0.0": "yesterday"}},
        {"versions": {}, "dist-tags": 3},
    ],
)
def test_it_reads_malformed_npm_documents_without_crashing(doc):
    try:
        summary = summarize_npm(doc)
    except ValueError as exc:
        assert "not an npm package document" in str(exc)
    else:
        assert all(r[1] is None for r in summary["releases"])


def test_it_reads_a_huge_document_in_reasonable_time():
    doc = {"releases": {f"1.{i}.0": [{"upload_time_iso_8601": "2020-01-01T00:00:00Z"}] for i in range(20000)}}
    started = time.monotonic()
    summary = summarize_pypi(json.loads(json.dumps(doc)))
    assert len(summary["releases"]) == 20000
    assert time.monotonic() - started < 5


def test_it_keeps_at_most_its_concurrency_in_flight(registry, tmp_path):
    for i in range(12):
        registry.add_pypi(f"many-{i}", "1.0", 0, files=False)
        registry.files[f"/files/many_{i}-1.0-py3-none-any.whl"] = b"x"
    registry.delay = 0.05
    got = client(registry, tmp_path, concurrency=3).fetch([("PyPI", f"many-{i}") for i in range(12)])
    assert all(not p.error for p in got.values())
    assert 1 < registry.max_in_flight <= 3
