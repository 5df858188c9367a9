"""Clones go with their service, ssh hosts pass the outbound guard, and http(s) git is pinned to the checked address.

Real git throughout: file:// bare repositories, and `git http-backend` served on loopback addresses.
"""

import errno
import fcntl
import os
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from django.db import transaction

from git_http_server import serve_git
from keepwell.core import repositories
from keepwell.core.models import Organization, Service
from keepwell.core.repositories import RepositoryError, checkout
from keepwell.core.tasks import sweep_repository_clones

GIT = ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.org", "-c", "commit.gpgsign=false"]


def make_bare(root: Path, name: str, readme: str) -> Path:
    """Return a bare repository `root`/`name` whose main branch holds one README.md with `readme`."""
    bare = root / name
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    work = root / f"{name}-work"
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, capture_output=True)
    (work / "README.md").write_text(readme)
    subprocess.run([*GIT, "-C", str(work), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(work), "commit", "-qm", "first"], check=True)
    subprocess.run([*GIT, "-C", str(work), "push", "-q", "origin", "HEAD:main"], check=True)
    return bare


@pytest.fixture
def data(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.ALLOW_PRIVATE_TARGETS = True  # file:// and loopback servers
    return settings.DATA_DIR / "repositories"


@pytest.fixture
def shop(acme, data, tmp_path):
    """A service whose repository is a git URL, cloned once."""
    bare = make_bare(tmp_path, "shop.git", "# Shop\n")
    service = Service.objects.create(organization=acme, name="Shop", slug="shop", repository=bare.as_uri())
    with checkout(service):
        pass
    return service


def leftovers(folder: Path, service_id: int) -> list[str]:
    """Return the names in `folder` that belong to the clone of `service_id`."""
    if not folder.is_dir():
        return []
    return sorted(n for n in os.listdir(folder) if n.split(".")[0] == str(service_id))


# --- Clean-up when a service goes or changes its repository ------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_deleting_a_service_through_the_api_removes_its_clone_and_lock(shop, data, alice_api):
    assert leftovers(data, shop.pk) == [str(shop.pk), f"{shop.pk}.lock"]
    assert alice_api.delete(f"/api/v1/services/{shop.slug}").status_code == 204
    assert leftovers(data, shop.pk) == []


@pytest.mark.django_db(transaction=True)
def test_a_deletion_that_rolls_back_keeps_the_clone(shop, data):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            Service.objects.get(pk=shop.pk).delete()
            assert leftovers(data, shop.pk) != []  # not before the commit either
            raise RuntimeError("the request failed after the delete")
    assert Service.objects.filter(pk=shop.pk).exists()
    assert leftovers(data, shop.pk) == [str(shop.pk), f"{shop.pk}.lock"]


@pytest.mark.django_db(transaction=True)
def test_deleting_an_organization_removes_the_clones_of_its_services_only(shop, data, acme, tmp_path):
    other = Organization.objects.create(slug="globex", name="Globex")
    theirs = Service.objects.create(organization=other, name="Shop", slug="shop", repository=shop.repository)
    with checkout(theirs):
        pass
    Organization.objects.get(pk=acme.pk).delete()
    assert leftovers(data, shop.pk) == []
    assert leftovers(data, theirs.pk) == [str(theirs.pk), f"{theirs.pk}.lock"]


@pytest.mark.django_db(transaction=True)
def test_a_new_git_url_or_a_local_path_removes_the_old_clone(shop, data, tmp_path):
    shop.name = "Shop (renamed)"
    shop.save()
    assert leftovers(data, shop.pk) != []  # the same repository: the clone is kept
    shop.repository = make_bare(tmp_path, "shop-v2.git", "# Shop v2\n").as_uri()
    shop.save()
    assert leftovers(data, shop.pk) == []
    with checkout(shop) as path:
        assert (path / "README.md").read_text() == "# Shop v2\n"
    shop.repository = str(tmp_path)
    shop.save(update_fields=["repository"])
    assert leftovers(data, shop.pk) == []


@pytest.mark.django_db(transaction=True)
def test_a_clone_in_use_is_left_and_the_nightly_job_removes_it(shop, data, caplog):
    service_id = shop.pk
    with checkout(shop) as path:
        Service.objects.get(pk=service_id).delete()
        assert (path / "README.md").is_file()  # the job's folder stays while it runs
    assert "in use by a job" in caplog.text
    assert leftovers(data, service_id) == [str(service_id), f"{service_id}.lock"]
    sweep_repository_clones.call_local()
    assert leftovers(data, service_id) == []


@pytest.mark.django_db
def test_the_sweep_removes_only_clones_without_a_service_with_a_git_url(shop, data, acme, tmp_path):
    local = Service.objects.create(organization=acme, name="Local", slug="local", repository=str(tmp_path))
    for folder in (str(local.pk), "999999", "999999.partial"):  # a local path now; a deleted service
        (data / folder).mkdir()
    for lock in (f"{local.pk}.lock", "999999.lock"):
        (data / lock).touch()
    (data / "notes.txt").write_text("not a clone")
    assert repositories.sweep_clones() == 2
    assert sorted(os.listdir(data)) == sorted([str(shop.pk), f"{shop.pk}.lock", "notes.txt"])


@pytest.mark.django_db
def test_a_job_waiting_for_a_clone_that_is_removed_locks_the_new_lock_file(shop, data, settings):
    lock = data / f"{shop.pk}.lock"
    held = open(lock, "a")  # what remove_clone holds while it deletes
    fcntl.flock(held, fcntl.LOCK_EX)
    entered, leave, errors = threading.Event(), threading.Event(), []

    def job():
        try:
            with repositories._locked(lock, deadline=float("inf")):
                entered.set()
                leave.wait(10)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
            entered.set()

    thread = threading.Thread(target=job)
    thread.start()
    try:
        assert not entered.wait(0.5)  # waiting for the lock
        lock.unlink()
        fcntl.flock(held, fcntl.LOCK_UN)
        held.close()
        assert entered.wait(5) and not errors
        with open(lock, "a") as probe:  # the job holds the file that now stands at that path
            with pytest.raises(BlockingIOError):
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        leave.set()
        thread.join(10)


# --- ssh hosts pass the outbound guard ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "location, where",
    [
        ("ssh://git@127.0.0.1/acme/shop.git", "127.0.0.1:22"),
        ("git+ssh://git@localhost:2222/acme/shop.git", "localhost:2222"),
        ("git@127.0.0.1:acme/shop.git", "127.0.0.1:22"),
        ("deploy@localhost:acme/shop.git", "localhost:22"),
    ],
)
@pytest.mark.django_db
def test_an_ssh_url_to_a_private_host_is_refused(service, data, settings, location, where):
    settings.ALLOW_PRIVATE_TARGETS = False
    service.repository = location
    service.save()
    with pytest.raises(RepositoryError) as info:
        with checkout(service):
            pass
    message = str(info.value)
    assert f"ssh to {where}" in message and "loopback, private" in message
    assert "KEEPWELL_ALLOW_PRIVATE_TARGETS=1" in message
    assert leftovers(data, service.pk) == []


@pytest.mark.django_db
def test_an_ssh_host_that_does_not_resolve_is_refused(service, settings):
    settings.ALLOW_PRIVATE_TARGETS = False
    service.repository = "git@no-such-host.invalid:acme/shop.git"
    service.save()
    with pytest.raises(RepositoryError, match="cannot be resolved"):
        with checkout(service):
            pass


@pytest.fixture
def ssh_listener():
    """A TCP server on loopback that records what a client sends first (an ssh client's version line)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)
    seen: list[bytes] = []

    def accept():
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            try:
                seen.append(conn.recv(100))
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], seen
    server.close()
    thread.join(10)


@pytest.mark.django_db
def test_an_ssh_host_on_loopback_is_reached_when_private_targets_are_allowed(
    service, data, ssh_listener, monkeypatch
):
    monkeypatch.setenv("GIT_SSH_COMMAND", "ssh -o BatchMode=yes -o StrictHostKeyChecking=no -F /dev/null")
    port, seen = ssh_listener
    service.repository = f"ssh://git@127.0.0.1:{port}/acme/shop.git"
    service.save()
    with pytest.raises(RepositoryError, match="git clone failed"):
        with checkout(service):
            pass
    assert seen and seen[0].startswith(b"SSH-2.0-")


@pytest.mark.django_db
def test_an_ssh_fetch_that_takes_too_long_is_stopped(service, data, settings, tmp_path, monkeypatch):
    slow = tmp_path / "slow-ssh"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    monkeypatch.setenv("GIT_SSH_COMMAND", str(slow))
    settings.REPOSITORY_TIMEOUT = 1
    service.repository = "ssh://git@localhost/acme/shop.git"
    service.save()
    with pytest.raises(RepositoryError, match="longer than 1 s"):
        with checkout(service):
            pass


# --- http(s): git connects only to the address the guard approved (DNS rebinding) ------------------------


@pytest.fixture
def two_servers(tmp_path):
    """The approved server on 127.0.0.2 and an "internal" one on 127.0.0.1, at the same port."""
    (tmp_path / "approved").mkdir()
    (tmp_path / "internal").mkdir()
    make_bare(tmp_path / "approved", "shop.git", "# from the approved address\n")
    make_bare(tmp_path / "internal", "shop.git", "# from the internal address\n")
    servers = []
    for _ in range(20):
        approved = serve_git(tmp_path / "approved", "127.0.0.2", 0)
        try:
            internal = serve_git(tmp_path / "internal", "127.0.0.1", approved.server_address[1])
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            approved.shutdown()
            approved.server_close()
            continue
        servers = [approved, internal]
        break
    assert servers, "no port free on both 127.0.0.1 and 127.0.0.2"
    yield servers[0].server_address[1]
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def rebinding_dns(monkeypatch):
    """The guard's DNS answer for localhost is 127.0.0.2; git's own lookup still gets 127.0.0.1."""
    real = socket.getaddrinfo

    def answer(host, port, *args, **kwargs):
        if host == "localhost":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port or 0))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(repositories.netguard.socket, "getaddrinfo", answer)


@pytest.mark.django_db
def test_git_over_http_fetches_from_the_address_the_guard_approved(service, data, two_servers, rebinding_dns):
    service.repository = f"http://localhost:{two_servers}/shop.git"
    service.save()
    with checkout(service) as path:
        assert (path / "README.md").read_text() == "# from the approved address\n"
    with checkout(service) as path:  # fetching an existing clone is pinned too
        assert (path / "README.md").read_text() == "# from the approved address\n"


@pytest.mark.django_db
def test_the_pin_lists_every_approved_address_for_the_url_host_and_port(settings, monkeypatch):
    settings.ALLOW_PRIVATE_TARGETS = False
    answers = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 443)),
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", 443, 0, 0)),
    ]
    monkeypatch.setattr(repositories.netguard.socket, "getaddrinfo", lambda *a, **k: answers)
    protocols, options = repositories._check("https://bot:token@Git.Example.org/acme/shop.git")
    assert protocols == ["https"]
    assert options == [
        "-c",
        "http.curloptResolve=git.example.org:443:93.184.215.14,[2606:2800:21f:cb07:6820:80da:af6b:8b2c]",
    ]
    assert repositories._check("https://93.184.215.14:8443/shop.git")[1] == []  # an address: nothing to pin
    with pytest.raises(RepositoryError, match="ASCII form"):
        repositories._check("https://bücher.example/shop.git")
