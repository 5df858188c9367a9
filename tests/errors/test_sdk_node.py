"""The official @sentry/node SDK (from npm) against a live keepwell on loopback: groups, counts, releases
and a regression, read back through the HTTP API."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from errors_live import LiveKeepwell, wait_until

pytestmark = pytest.mark.django_db(transaction=True)
NODE_DIR = Path(__file__).parent / "node"


@pytest.fixture(scope="session")
def node_sdk():
    """Install @sentry/node from the committed package-lock.json (npm ci) once; skip when npm is missing."""
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip(
            "node and npm are needed to run the @sentry/node SDK (Debian: apt-get install nodejs npm)"
        )
    if not (NODE_DIR / "node_modules" / "@sentry" / "node" / "package.json").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR,
            check=True,
            timeout=300,
        )
    return NODE_DIR / "send.mjs"


@pytest.fixture
def keepwell(transactional_db, settings, monkeypatch):
    from keepwell.errors import tasks

    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
    # The server spools what the SDK sends; the test runs the processing job itself (see errors_live).
    monkeypatch.setattr(tasks, "process_envelope", lambda raw_id: None)
    server = LiveKeepwell()
    try:
        yield server
    finally:
        server.stop()


def send(script, dsn, release, scenario) -> list[str]:
    done = subprocess.run(
        ["node", str(script), dsn, release, scenario], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def groups(api, **query):
    response = api.get("/services/shop-api/error-groups", params=query)
    assert response.status_code == 200, response.text
    return {g["title"]: g for g in response.json()["items"]}


def test_node_errors_are_grouped_counted_and_regress_on_a_newer_release(
    node_sdk, keepwell, acme, alice, service
):
    dsn = keepwell.dsn(service)
    ids = send(node_sdk, dsn, "web@2.3.0", "errors")
    keepwell.process()
    assert len(ids) == 6 and all(len(i) == 32 for i in ids)
    with keepwell.api(acme, alice) as api:
        found = wait_until(lambda: (g := groups(api)) and sum(x["count"] for x in g.values()) == 6 and g)
        title = "TypeError: Cannot read properties of undefined (reading 'name')"
        assert found[title]["count"] == 3, "one bug from two lines of one function: one group"
        queues = [g for t, g in found.items() if t.startswith("Queue ")]
        assert [g["count"] for g in queues] == [2], "messages differing in numbers: one group"
        assert queues[0]["title"] in ("Queue 17 is 9000 messages behind", "Queue 4 is 12 messages behind")
        assert found["RangeError: page size out of range"]["count"] == 1
        assert len(found) == 3
        group_id = found[title]["id"]
        detail = api.get(f"/services/shop-api/error-groups/{group_id}").json()
        assert [r["value"] for r in detail["releases"]] == ["web@2.3.0"]
        event = api.get(f"/services/shop-api/error-groups/{group_id}/events/{ids[0]}").json()
        frames = event["data"]["exceptions"][-1]["frames"]
        assert frames[-1]["function"] == "loadCart" and frames[-1]["in_app"] is True
        assert "cart.owner.name" in frames[-1]["context_line"]

        assert (
            api.patch(f"/services/shop-api/error-groups/{group_id}", json={"status": "resolved"}).status_code
            == 200
        )
        send(node_sdk, dsn, "web@2.2.9", "one")  # an older release: stays resolved
        keepwell.process()
        wait_until(lambda: (g := groups(api, status="resolved").get(title)) and g["count"] == 4)
        send(node_sdk, dsn, "web@2.10.0", "one")  # newer (by number, not by string order): regressed
        keepwell.process()
        group = wait_until(lambda: (g := groups(api).get(title)) and g["count"] == 5 and g)
        assert (group["status"], group["regressed"]) == ("unresolved", True)
