"""Update proposals for a service whose repository is a git URL: written in the hub's clone, pushed to the remote."""

import subprocess
from pathlib import Path

import pytest
from deps_hub_fixtures import *  # noqa: F403  (the registry fixture)
from deps_project import write_project

from git_http_server import serve_git
from keepwell.core import repositories
from keepwell.dependencies import hub
from keepwell.dependencies.models import Proposal, Scan

pytestmark = pytest.mark.django_db

GIT = ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.org", "-c", "commit.gpgsign=false"]
ALPHA_MAJOR = [
    {"name": "alpha", "ecosystem": "PyPI", "from": "1.0.0", "to": "2.0.0", "source": "requirements.txt"}
]


def git(*args, cwd=None) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def make_remote(tmp_path: Path, name: str = "shop.git") -> Path:
    """Return a bare repository (the "server") holding the fixture project on its main branch."""
    bare = tmp_path / name
    git("init", "-q", "--bare", "-b", "main", str(bare))
    work = write_project(tmp_path / f"{name}-work")
    git("init", "-q", "-b", "main", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "init", cwd=work)
    git("push", "-q", str(bare), "main", cwd=work)
    return bare


def refuse_pushes(bare: Path) -> None:
    """Install a pre-receive hook that declines every push (chmod cannot make it read-only: tests run as root)."""
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'pushes to this repository are not allowed' >&2\nexit 1\n")
    hook.chmod(0o755)


def branches(repo: Path) -> list[str]:
    return git("for-each-ref", "--format=%(refname:short)", "refs/heads/", cwd=repo).split()


@pytest.fixture
def remote_service(service, registry, settings, tmp_path):
    """The service, its repository a file:// URL of a bare repository; tests of the service's code stay off."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DEPS_RUN_TESTS = False
    service.repository = make_remote(tmp_path).as_uri()
    service.save()
    return service


def bare_of(service) -> Path:
    return Path(service.repository.removeprefix("file://"))


def propose_major(service) -> Proposal:
    proposal = Proposal.objects.create(
        service=service, ecosystem="PyPI", group="major", title="Update alpha to 2.0.0", changes=ALPHA_MAJOR
    )
    return hub.run_proposal(proposal)


def test_it_pushes_the_proposal_branch_to_the_remote_and_leaves_the_clone_clean(remote_service, settings):
    assert hub.scan_service(remote_service).status == Scan.Status.DONE
    [proposal] = hub.create_proposals(remote_service, ecosystem="PyPI", group_kind="major")
    proposal = hub.run_proposal(proposal)
    branch = f"keepwell/deps-{proposal.pk}"
    assert (proposal.status, proposal.mode, proposal.branch) == (Proposal.Status.UNTESTED, "branch", branch)
    assert f"The branch {branch} was pushed to {remote_service.repository}." in proposal.error
    assert "+alpha==2.0.0" in proposal.patch and proposal.edited_files == ["requirements.txt"]

    bare = bare_of(remote_service)
    log = git("log", "-1", "--format=%s", "--name-only", branch, cwd=bare)
    assert log.split("\n", 1)[0] == proposal.title and "requirements.txt" in log
    assert "alpha==2.0.0" in git("show", f"{branch}:requirements.txt", cwd=bare)
    assert "alpha==1.0.0" in git("show", "main:requirements.txt", cwd=bare)  # the default branch is untouched

    clone = settings.DATA_DIR / "repositories" / str(remote_service.pk)
    assert branches(clone) == ["main"]
    assert len(git("worktree", "list", cwd=clone).splitlines()) == 1
    assert git("status", "--porcelain", cwd=clone) == ""

    later = hub.scan_service(remote_service)
    assert later.status == Scan.Status.DONE, later.error
    assert later.rows.get(name="alpha").version == "1.0.0"


def test_a_second_proposal_is_pushed_beside_the_first(remote_service):
    first, second = propose_major(remote_service), propose_major(remote_service)
    assert (first.mode, second.mode) == ("branch", "branch")
    assert sorted(branches(bare_of(remote_service))) == sorted(["main", first.branch, second.branch])


def test_a_remote_that_refuses_the_branch_leaves_a_patch_and_says_what_to_do(remote_service, settings):
    bare = bare_of(remote_service)
    refuse_pushes(bare)
    proposal = propose_major(remote_service)
    assert proposal.status == Proposal.Status.UNTESTED
    assert (proposal.mode, proposal.branch) == ("patch", "")
    assert "-alpha==1.0.0" in proposal.patch and "+alpha==2.0.0" in proposal.patch
    assert f"The remote refused the branch keepwell/deps-{proposal.pk}" in proposal.error
    assert "pre-receive hook declined" in proposal.error
    assert "Give the hub write access" in proposal.error and "apply the patch" in proposal.error
    assert branches(bare) == ["main"]
    clone = settings.DATA_DIR / "repositories" / str(remote_service.pk)
    assert branches(clone) == ["main"]
    # The patch applies to the default branch as it is.
    work = Path(settings.DATA_DIR).parent / "apply"
    git("clone", "-q", str(bare), str(work))
    subprocess.run(["git", "apply", "-"], cwd=work, input=proposal.patch, text=True, check=True)
    assert "alpha==2.0.0" in (work / "requirements.txt").read_text()


def test_a_file_url_the_hub_may_not_read_is_an_error_that_says_what_to_do(remote_service, settings):
    settings.ALLOW_PRIVATE_TARGETS = False
    proposal = propose_major(remote_service)
    assert proposal.status == Proposal.Status.ERROR and proposal.finished
    assert "KEEPWELL_ALLOW_PRIVATE_TARGETS=1" in proposal.error
    assert (proposal.mode, proposal.patch) == ("", "")
    assert not (settings.DATA_DIR / "repositories" / str(remote_service.pk)).exists()


def test_a_repository_the_hub_cannot_clone_is_an_error(remote_service, tmp_path):
    remote_service.repository = (tmp_path / "gone.git").as_uri()
    remote_service.save()
    proposal = propose_major(remote_service)
    assert proposal.status == Proposal.Status.ERROR
    assert proposal.error.startswith("git clone failed")


def test_a_proposal_with_nothing_to_rewrite_leaves_no_branch_behind(remote_service, settings):
    proposal = Proposal.objects.create(
        service=remote_service,
        ecosystem="PyPI",
        group="major",
        title="Update nowhere",
        changes=[{"name": "not-declared", "ecosystem": "PyPI", "from": "1.0", "to": "2.0", "source": ""}],
    )
    proposal = hub.run_proposal(proposal)
    assert proposal.status == Proposal.Status.ERROR and "no declaration" in proposal.error
    assert branches(settings.DATA_DIR / "repositories" / str(remote_service.pk)) == ["main"]
    assert branches(bare_of(remote_service)) == ["main"]


def test_a_local_checkout_still_gets_its_branch_in_place(service, registry, settings, tmp_path):
    settings.DEPS_RUN_TESTS = False
    work = write_project(tmp_path / "checkout")
    git("init", "-q", "-b", "main", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "init", cwd=work)
    service.repository = str(work)
    service.save()
    proposal = propose_major(service)
    assert (proposal.mode, proposal.branch) == ("branch", f"keepwell/deps-{proposal.pk}")
    assert "pushed" not in proposal.error and "refused" not in proposal.error
    assert sorted(branches(work)) == ["keepwell/deps-" + str(proposal.pk), "main"]


# --- A smart-HTTP git server on loopback (git http-backend), for the "no write access" case ---------------


@pytest.fixture
def http_remote(tmp_path):
    make_remote(tmp_path / "srv", "shop.git")
    server = serve_git(tmp_path / "srv")
    yield (
        f"http://bot:s3cret-token@127.0.0.1:{server.server_address[1]}/shop.git",
        tmp_path / "srv" / "shop.git",
    )
    server.shutdown()
    server.server_close()


def test_a_remote_without_write_access_keeps_the_patch_and_hides_the_credentials(
    service, registry, settings, tmp_path, http_remote
):
    url, bare = http_remote
    settings.DATA_DIR = tmp_path / "data"
    settings.DEPS_RUN_TESTS = False
    service.repository = url
    service.save()
    assert hub.scan_service(service).status == Scan.Status.DONE  # reading is allowed
    proposal = propose_major(service)
    assert (proposal.status, proposal.mode, proposal.branch) == (Proposal.Status.UNTESTED, "patch", "")
    assert "+alpha==2.0.0" in proposal.patch
    assert "The remote refused the branch" in proposal.error and "403" in proposal.error
    assert "s3cret-token" not in proposal.error
    assert repositories.redact(url) in proposal.error
    assert branches(bare) == ["main"]
    assert branches(settings.DATA_DIR / "repositories" / str(service.pk)) == ["main"]


def test_the_proposals_tests_run_without_holding_the_clones_lock(service, registry, settings, tmp_path):
    """A proposal's tests may run for half an hour: meanwhile a scan of the same service must get the clone."""
    import sys

    settings.DATA_DIR = tmp_path / "data"
    settings.DEPS_RUN_TESTS = True
    service.repository = "file:///placeholder"  # the service needs its id before its lock path is known
    service.save()
    lock = repositories._lock_file(repositories.clone_dir(service))
    probe = f"import fcntl; fcntl.flock(open({str(lock)!r}, 'a'), fcntl.LOCK_EX | fcntl.LOCK_NB)"
    bare = tmp_path / "shop.git"
    git("init", "-q", "--bare", "-b", "main", str(bare))
    work = write_project(
        tmp_path / "work",
        extra={"pyproject.toml": f'[tool.keepwell]\ntest-command = "{sys.executable} -c \\"{probe}\\""\n'},
    )
    git("init", "-q", "-b", "main", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "init", cwd=work)
    git("push", "-q", str(bare), "main", cwd=work)
    service.repository = bare.as_uri()
    service.save()
    proposal = propose_major(service)
    # The probe took the lock without waiting: the test command ran while nobody held it.
    assert proposal.status == Proposal.Status.PASSED, (proposal.error, proposal.output)
    assert f"keepwell/deps-{proposal.pk}" in branches(bare)
