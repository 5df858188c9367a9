"""A service's repository as a local folder: local paths as they are, git URLs cloned and kept up to date."""

import subprocess
from pathlib import Path

import pytest

from keepwell.core import repositories
from keepwell.core.models import Service
from keepwell.core.repositories import RepositoryError, checkout

pytestmark = pytest.mark.django_db

GIT = ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.org", "-c", "commit.gpgsign=false"]


def commit(work: Path, name: str, text: str) -> None:
    (work / name).write_text(text)
    subprocess.run([*GIT, "-C", str(work), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(work), "commit", "-qm", f"add {name}"], check=True)
    subprocess.run([*GIT, "-C", str(work), "push", "-q", "origin", "HEAD:main"], check=True)


@pytest.fixture
def upstream(tmp_path):
    """A bare repository on disk (the "server") and a working copy that pushes to it."""
    bare = tmp_path / "shop.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True)
    commit(work, "README.md", "# Shop\n")
    return bare, work


@pytest.fixture
def service(acme, settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    return Service.objects.create(organization=acme, name="Shop API", slug="shop-api")


def at(service, location):
    service.repository = location
    service.save()
    return service


def test_a_git_url_is_cloned_and_a_new_upstream_commit_is_seen_next_time(service, upstream, settings):
    settings.ALLOW_PRIVATE_TARGETS = True
    bare, work = upstream
    at(service, bare.as_uri())
    with checkout(service) as path:
        assert path == settings.DATA_DIR / "repositories" / str(service.pk)
        assert (path / "README.md").read_text() == "# Shop\n"
        (path / "stray.txt").write_text("left by a scan")
    commit(work, "app.py", "print('hi')\n")
    with checkout(service) as path:
        assert (path / "app.py").is_file()
        assert not (path / "stray.txt").exists()
        log = subprocess.run(["git", "-C", str(path), "log", "--oneline"], capture_output=True, text=True)
        assert len(log.stdout.splitlines()) == 2  # full history: history scans need every commit


def test_a_local_path_is_used_as_it_is_and_the_roots_are_kept(service, tmp_path, settings):
    folder = tmp_path / "checkout"
    folder.mkdir()
    at(service, str(folder))
    with checkout(service) as path:
        assert path == folder
    settings.REPOSITORY_ROOTS = [str(tmp_path / "elsewhere")]
    with pytest.raises(RepositoryError, match=r"is not inside .* \(KEEPWELL_REPOSITORY_ROOTS\)"):
        with checkout(service):
            pass
    settings.REPOSITORY_ROOTS = [str(tmp_path)]
    at(service, str(tmp_path / "missing"))
    with pytest.raises(RepositoryError, match="not a folder on this machine"):
        with checkout(service):
            pass
    at(service, "")
    with pytest.raises(RepositoryError, match="has no repository set"):
        with checkout(service):
            pass


@pytest.mark.parametrize("location", ["http://127.0.0.1:9/acme/shop.git", "git://10.0.0.5/shop.git"])
def test_a_private_http_url_is_refused(service, settings, location):
    settings.ALLOW_PRIVATE_TARGETS = False
    at(service, location)
    with pytest.raises(RepositoryError, match="loopback, private"):
        with checkout(service):
            pass
    assert not (settings.DATA_DIR / "repositories").exists()


def test_a_file_url_is_refused_unless_private_targets_are_allowed(service, upstream, settings):
    settings.ALLOW_PRIVATE_TARGETS = False
    at(service, upstream[0].as_uri())
    with pytest.raises(RepositoryError, match="KEEPWELL_ALLOW_PRIVATE_TARGETS"):
        with checkout(service):
            pass


@pytest.mark.parametrize(
    "location, message",
    [
        ("ftp://example.com/shop.git", "is not a git URL keepwell fetches"),
        ("ssh:///shop.git", "has no host name"),
        ("https://example.com:99999/shop.git", "is not a valid git URL"),
    ],
)
def test_a_bad_url_says_what_to_use(service, location, message):
    at(service, location)
    with pytest.raises(RepositoryError, match=message):
        with checkout(service):
            pass


def test_a_missing_repository_says_git_failed(service, tmp_path, settings):
    settings.ALLOW_PRIVATE_TARGETS = True
    at(service, (tmp_path / "nothing.git").as_uri())
    with pytest.raises(RepositoryError, match="git clone failed"):
        with checkout(service):
            pass
    assert not (settings.DATA_DIR / "repositories" / str(service.pk)).exists()


def test_two_jobs_do_not_use_one_clone_at_once(service, upstream, settings):
    settings.ALLOW_PRIVATE_TARGETS = True
    settings.REPOSITORY_TIMEOUT = 1
    at(service, upstream[0].as_uri())
    with checkout(service):
        with pytest.raises(RepositoryError, match="Another job"):
            with checkout(service):
                pass


def test_credentials_in_a_url_are_not_shown_in_errors():
    assert repositories.redact("git clone https://bot:s3cret@example.com/x.git") == (
        "git clone https://•••@example.com/x.git"
    )


def test_an_empty_repository_says_to_push_a_branch(service, tmp_path, settings):
    settings.ALLOW_PRIVATE_TARGETS = True
    bare = tmp_path / "empty.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    at(service, bare.as_uri())
    with pytest.raises(RepositoryError, match="no default branch"):
        with checkout(service):
            pass
