"""The backup plans API: create plans, run them through the job queue, list runs and snapshots, restore."""
# ruff: noqa: F811  (the fixtures imported from backup_app_helpers are redefined as test arguments)

import pytest
from backup_app_helpers import (  # noqa: F401  fixtures
    PASSWORD,
    data_tree,
    repo_path,
    restic_cache,
    template_repository,
)

from keepwell.backups.models import Plan, Repository, Run

pytestmark = pytest.mark.django_db
BASE = "/api/v1/services/shop-api/backup-plans"


def _body(repo_path, data_tree, **extra):
    return {
        "name": "Shop files",
        "repository": str(repo_path),
        "password": PASSWORD,
        "sources": [{"kind": "path", "paths": [str(data_tree)]}],
        "schedule": "0 3 * * *",
        "retention": {"keep_daily": 7, "keep_weekly": 4},
        **extra,
    }


@pytest.fixture
def created(alice_api, service, repo_path, data_tree):
    response = alice_api.post(BASE, _body(repo_path, data_tree))
    assert response.status_code == 201, response.content
    return response.json()


def test_it_creates_a_plan_with_the_pinned_fields_and_never_returns_the_password(created, repo_path):
    assert created["id"] > 0
    assert created["name"] == "Shop files"
    assert created["repository"] == str(repo_path)
    assert created["retention"] == {"keep_daily": 7, "keep_weekly": 4}
    assert PASSWORD not in str(created)
    plan = Plan.objects.get(pk=created["id"])
    assert plan.repository.password == PASSWORD


def test_the_password_and_sources_are_encrypted_at_rest(created):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT password, location FROM backups_repository")
        password, location = cursor.fetchone()
        cursor.execute("SELECT sources FROM backups_plan")
        (sources,) = cursor.fetchone()
    assert password.startswith("fernet:") and PASSWORD not in password
    assert location.startswith("fernet:")
    assert sources.startswith("fernet:")


def test_a_second_plan_on_the_same_location_reuses_the_repository(alice_api, created, repo_path, data_tree):
    response = alice_api.post(BASE, _body(repo_path, data_tree, name="More files"))

    assert response.status_code == 201
    assert response.json()["repository_id"] == created["repository_id"]
    assert Repository.objects.count() == 1


def test_the_same_location_with_another_password_is_refused(alice_api, created, repo_path, data_tree):
    response = alice_api.post(BASE, _body(repo_path, data_tree, password="another one"))

    assert response.status_code == 409
    assert "another password" in response.json()["detail"]


def test_run_drill_and_restore_go_through_the_queue_and_answer_202(
    alice_api, created, tmp_path, django_capture_on_commit_callbacks
):
    plan_url = f"{BASE}/{created['id']}"
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.post(f"{plan_url}/run")
    assert response.status_code == 202
    run_id = response.json()["id"]
    run = alice_api.get(f"{plan_url}/runs/{run_id}").json()
    assert run["state"] == "succeeded", run["error_message"]
    assert run["kind"] == "backup" and len(run["snapshots"]) == 1

    snapshots = alice_api.get(f"{plan_url}/snapshots").json()
    assert snapshots["count"] == 1
    assert snapshots["items"][0]["id"] == run["snapshots"][0]["id"]

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.post(f"{plan_url}/drill")
    assert response.status_code == 202
    drill = alice_api.get(f"{plan_url}/runs/{response.json()['id']}").json()
    assert drill["state"] == "succeeded", drill["error_message"]
    assert drill["evidence"] and all(e["ok"] for e in drill["evidence"])
    assert drill["source_run"] == run_id

    target = tmp_path / "restore-here"
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.post(f"{plan_url}/restore", {"target": {"kind": "path", "path": str(target)}})
    assert response.status_code == 202, response.content
    restore = alice_api.get(f"{plan_url}/runs/{response.json()['id']}").json()
    assert restore["state"] == "succeeded", restore["error_message"]
    assert list(target.rglob("readme.txt"))

    runs = alice_api.get(f"{plan_url}/runs").json()
    assert runs["count"] == 3
    assert [r["kind"] for r in runs["items"]] == ["restore", "drill", "backup"]
    storage = alice_api.get(f"{plan_url}/storage").json()
    assert storage["count"] == 1 and storage["items"][0]["total_size"] > 0
    plan = alice_api.get(plan_url).json()
    assert plan["last_good_backup_at"] and plan["last_verified_restore_at"]


def test_a_drill_or_restore_without_a_backup_is_refused_with_409(alice_api, created, tmp_path):
    plan_url = f"{BASE}/{created['id']}"

    drill = alice_api.post(f"{plan_url}/drill")
    restore = alice_api.post(f"{plan_url}/restore", {"path": str(tmp_path / "x")})

    assert drill.status_code == 409 and "no successful backup" in drill.json()["detail"]
    assert restore.status_code == 409
    assert not Run.objects.exists()


@pytest.mark.parametrize(
    "change, words",
    [
        ({"sources": []}, "sources"),
        ({"sources": [{"kind": "tape"}]}, "sources[0].kind"),
        ({"sources": [{"kind": "path", "paths": ["relative/path"]}]}, "sources[0].paths[0]"),
        ({"sources": ["not an object"]}, "sources.0"),
        ({"schedule": "every day"}, "schedule"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"drill_schedule": "99 * * * *"}, "drill_schedule"),
        ({"retention": {"keep_daily": -1}}, "keep_daily"),
        ({"retention": {"keep_forever": 1}}, "keep_forever"),
        ({"password": ""}, "password"),
        ({"repository": ""}, "repository"),
        ({"repository": "relative/repo"}, "neither an absolute path nor a restic backend"),
        ({"repository": "ftp://host/repo"}, "neither an absolute path nor a restic backend"),
        ({"name": "x" * 201}, "name"),
    ],
)
def test_bad_input_gets_a_422_naming_the_field(alice_api, service, repo_path, data_tree, change, words):
    response = alice_api.post(BASE, _body(repo_path, data_tree, **change))

    assert response.status_code == 422, response.content
    assert words in str(response.json())
    assert not Plan.objects.exists()


def test_a_huge_sources_list_is_refused(alice_api, service, repo_path, data_tree):
    sources = [{"kind": "path", "paths": [str(data_tree)]}] * 1000

    response = alice_api.post(BASE, _body(repo_path, data_tree, sources=sources))

    assert response.status_code == 422


def test_verification_commands_are_refused_unless_the_operator_allows_them(
    alice_api, service, repo_path, data_tree, settings
):
    body = _body(repo_path, data_tree, verify_command="test -d $KEEPWELL_RESTORE_PATH")

    refused = alice_api.post(BASE, body)
    settings.BACKUP_ALLOW_COMMANDS = True
    allowed = alice_api.post(BASE, body)

    assert refused.status_code == 422 and "KEEPWELL_BACKUP_ALLOW_COMMANDS" in refused.json()["detail"]
    assert allowed.status_code == 201


def test_paths_outside_the_allowed_roots_are_refused(
    alice_api, service, repo_path, data_tree, settings, tmp_path
):
    settings.BACKUP_PATH_ROOTS = [str(tmp_path / "elsewhere")]

    response = alice_api.post(BASE, _body(repo_path, data_tree))

    assert response.status_code == 422
    assert "KEEPWELL_BACKUP_PATH_ROOTS" in response.json()["detail"]


@pytest.mark.parametrize(
    "body, words",
    [
        ({}, "give one of target, path"),
        ({"path": "relative"}, "absolute path"),
        ({"target": {"kind": "tape"}}, "target.kind"),
        ({"database": "ftp://host/db"}, "postgres://"),
        ({"database": "sqlite://host/x.db"}, "three slashes"),
        ({"path": "/tmp", "database": "postgres://h/db"}, "give one of"),
    ],
)
def test_a_bad_restore_target_gets_a_422(alice_api, created, body, words):
    response = alice_api.post(f"{BASE}/{created['id']}/restore", body)

    assert response.status_code == 422, response.content
    assert words in response.json()["detail"]


def test_a_restore_never_overwrites_a_folder_that_has_files(alice_api, created, data_tree):
    response = alice_api.post(f"{BASE}/{created['id']}/restore", {"path": str(data_tree)})

    assert response.status_code == 422
    assert "not an empty folder" in response.json()["detail"]


def test_patch_changes_the_fields_given_and_reschedules(alice_api, created):
    Plan.objects.filter(pk=created["id"]).update(next_backup_at="2030-01-01T00:00:00Z")

    response = alice_api.patch(f"{BASE}/{created['id']}", {"schedule": "15 1 * * *", "enabled": False})

    assert response.status_code == 200, response.content
    assert response.json()["schedule"] == "15 1 * * *" and response.json()["enabled"] is False
    assert Plan.objects.get(pk=created["id"]).next_backup_at is None


def test_patch_moving_the_repository_needs_its_password(alice_api, created, tmp_path):
    response = alice_api.patch(f"{BASE}/{created['id']}", {"repository": str(tmp_path / "new-repo")})

    assert response.status_code == 422
    assert "password" in response.json()["detail"]


def test_delete_removes_the_plan_and_resolves_its_findings(alice_api, created):
    from keepwell.backups import health

    plan = Plan.objects.get(pk=created["id"])
    health._raise(plan, health.OVERDUE, "overdue", "warning")

    response = alice_api.delete(f"{BASE}/{created['id']}")

    assert response.status_code == 204
    assert not Plan.objects.exists()
    from keepwell.core.models import Finding

    assert Finding.objects.get(source="backups").state == "resolved"


def test_a_read_only_token_may_read_but_not_create(alice_api_readonly, created, repo_path, data_tree):
    assert alice_api_readonly.get(BASE).json()["count"] == 1
    assert alice_api_readonly.post(BASE, _body(repo_path, data_tree)).status_code == 403
    assert alice_api_readonly.post(f"{BASE}/{created['id']}/run").status_code == 403


def test_another_organization_sees_nothing(charlie_api, created):
    assert charlie_api.get(BASE).status_code == 404
    assert charlie_api.get(f"{BASE}/{created['id']}").status_code == 404
    assert charlie_api.post(f"{BASE}/{created['id']}/run").status_code == 404
    assert not Run.objects.exists()


def test_an_unknown_plan_is_a_404(alice_api, created):
    response = alice_api.get(f"{BASE}/{created['id'] + 1000}")

    assert response.status_code == 404
    assert "backup plan" in response.json()["detail"]


def test_snapshots_of_an_unreadable_repository_answer_409(alice_api, created):
    Repository.objects.filter(pk=created["repository_id"]).update(initialized=True)
    repo = Repository.objects.get(pk=created["repository_id"])
    repo.password = "wrong"
    repo.save()

    response = alice_api.get(f"{BASE}/{created['id']}/snapshots")

    assert response.status_code == 409
    assert "cannot be read" in response.json()["detail"]
