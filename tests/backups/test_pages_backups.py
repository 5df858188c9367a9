"""The backups pages: the plans list, a plan with its runs, drills and storage plot, the forms."""
# ruff: noqa: F811  (the fixtures imported from backup_app_helpers are redefined as test arguments)

from datetime import timedelta

import pytest
from backup_app_helpers import (  # noqa: F401  fixtures
    PASSWORD,
    data_tree,
    plan,
    repo_path,
    restic_cache,
    template_repository,
)
from django.utils import timezone

from keepwell.backups import charts
from keepwell.backups.models import Plan, Run, StorageSample

pytestmark = pytest.mark.django_db


def url(plan, suffix=""):
    return f"/o/acme/backups/plans/{plan.pk}/{suffix}"


def test_the_empty_list_explains_plans(alice_client, service):
    response = alice_client.get("/o/acme/backups/")

    assert response.status_code == 200
    assert "No backup plans yet" in response.content.decode()


def test_the_list_shows_each_plan_with_its_ages_and_problems(alice_client, plan):
    from keepwell.backups import health

    Plan.objects.filter(pk=plan.pk).update(last_good_backup_at=timezone.now() - timedelta(hours=3))
    health._raise(plan, health.OVERDUE, "late", "warning")

    page = alice_client.get("/o/acme/backups/").content.decode()

    assert "Shop data" in page and "3\xa0hours ago" in page and "overdue" in page


def test_the_nav_links_to_backups(alice_client, service):
    assert 'href="/o/acme/backups/"' in alice_client.get("/o/acme/").content.decode()


def test_a_plan_page_shows_runs_drill_evidence_and_the_storage_plot(alice_client, plan):
    now = timezone.now()
    backup = Run.objects.create(plan=plan, kind="backup", state="succeeded", started=now, finished=now,
                                snapshots=[{"id": "abcdef123456", "short_id": "abcdef12"}], bytes_added=2048)  # fmt: skip
    Run.objects.create(plan=plan, kind="drill", state="failed", started=now, finished=now, duration=1.5,
                       source_run=backup, error_message="row count of customer differs",
                       evidence=[{"check": "row counts", "ok": False, "detail": "customer: 49 != 50 <b>"}])  # fmt: skip
    for day in range(3):
        StorageSample.objects.create(
            repository=plan.repository, at=now - timedelta(days=3 - day), total_size=1000 * (day + 1)
        )

    page = alice_client.get(url(plan)).content.decode()

    assert "abcdef12" in page and "2.0 KiB" in page
    assert 'id="snapshots"' in page
    assert "row count of customer differs" in page
    assert "customer: 49 != 50 &lt;b&gt;" in page  # escaped
    assert 'class="growth-line"' in page and "from 1000 B to 2.9 KiB" in page
    assert PASSWORD not in page


def test_run_now_queues_a_run_and_it_runs(alice_client, plan, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(url(plan, "start"), {"kind": "backup"})

    assert response.status_code == 302
    run = Run.objects.get()
    assert run.trigger == "web" and run.state == "succeeded", run.error_message
    page = alice_client.get(f"/o/acme/backups/runs/{run.pk}/").content.decode()
    assert "Manifest" in page and run.snapshot_ids[0] in page


def test_start_refuses_an_unknown_kind(alice_client, plan):
    response = alice_client.post(url(plan, "start"), {"kind": "rm -rf"}, follow=True)

    assert "Choose what to run" in response.content.decode()
    assert not Run.objects.exists()


def test_the_form_creates_a_plan(alice_client, service, repo_path, data_tree):
    response = alice_client.post(
        "/o/acme/backups/plans/new",
        {
            "name": "From the form",
            "service": service.pk,
            "repository": str(repo_path),
            "password": PASSWORD,
            "sources": f'[{{"kind": "path", "paths": ["{data_tree}"]}}]',
            "schedule": "0 4 * * *",
            "tz": "Europe/Berlin",
            "keep_daily": "7",
            "prune_schedule": "",
            "check_schedule": "0 5 * * 0",
            "drill_schedule": "0 6 * * 0",
            "grace_minutes": "30",
            "max_restore_age_days": "14",
            "enabled": "on",
        },
    )

    assert response.status_code == 302, response.content.decode()[-3000:]
    plan = Plan.objects.get(name="From the form")
    assert plan.tz == "Europe/Berlin" and plan.retention == {"keep_daily": 7} and plan.prune_schedule == ""
    assert plan.repository.password == PASSWORD


def test_the_form_shows_what_is_wrong(alice_client, service, repo_path):
    response = alice_client.post(
        "/o/acme/backups/plans/new",
        {
            "name": "Bad",
            "service": service.pk,
            "repository": str(repo_path),
            "password": "x",
            "sources": "[{not json",
            "schedule": "0 4 * * *",
            "tz": "UTC",
            "grace_minutes": "30",
            "max_restore_age_days": "14",
        },  # fmt: skip
    )

    assert response.status_code == 200
    assert "not valid JSON" in response.content.decode()
    assert not Plan.objects.exists()


def test_editing_keeps_the_password_when_left_empty(alice_client, plan, data_tree):
    response = alice_client.post(
        url(plan, "edit"),
        {
            "name": "Renamed",
            "service": plan.service_id,
            "repository": plan.repository.location,
            "password": "",
            "sources": f'[{{"kind": "path", "paths": ["{data_tree}"]}}]',
            "schedule": "0 5 * * *",
            "tz": "UTC",
            "grace_minutes": "60",
            "max_restore_age_days": "14",
            "enabled": "on",
            "keep_last": "3",
        },  # fmt: skip
    )

    assert response.status_code == 302, response.context["form"].errors
    plan.refresh_from_db()
    assert plan.name == "Renamed" and plan.schedule == "0 5 * * *"
    assert plan.repository.password == PASSWORD


def test_the_restore_form_queues_a_restore(alice_client, plan, tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(url(plan, "start"), {"kind": "backup"})
    backup = Run.objects.get()
    target = tmp_path / "from-the-web"

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            url(plan, "restore"), {"run": backup.pk, "kind": "path", "path": str(target)}
        )

    assert response.status_code == 302
    restore = Run.objects.get(kind="restore")
    assert restore.state == "succeeded", restore.error_message
    assert list(target.rglob("readme.txt"))


def test_delete_asks_then_deletes(alice_client, plan):
    assert "Delete the plan" in alice_client.get(url(plan, "delete")).content.decode()
    assert alice_client.post(url(plan, "delete")).status_code == 302
    assert not Plan.objects.exists()


def test_a_viewer_sees_but_cannot_run_or_edit(plan, victor):
    from django.test import Client

    client = Client()
    client.force_login(victor)
    assert client.get(url(plan)).status_code == 200
    assert client.post(url(plan, "start"), {"kind": "backup"}).status_code == 403
    assert client.get(url(plan, "edit")).status_code == 403


def test_another_organization_gets_404(charlie_client, plan):
    for suffix in ("", "edit", "delete", "restore"):
        assert charlie_client.get(url(plan, suffix)).status_code == 404
    assert charlie_client.post(url(plan, "start"), {"kind": "backup"}).status_code == 404
    assert not Run.objects.exists()


def test_the_growth_chart_geometry():
    t = timezone.now()
    chart = charts.growth_chart([(t, 100), (t - timedelta(days=1), 50), (t - timedelta(days=2), None)])

    assert not chart.empty and chart.first == 50 and chart.last == 100
    assert len(chart.points.split()) == 2
    assert charts.growth_chart([]).empty
    single = charts.growth_chart([(t, 10)])
    assert len(single.points.split()) == 2  # a single sample is drawn as a short level line


def test_human_bytes():
    assert charts.human_bytes(0) == "0 B"
    assert charts.human_bytes(1536) == "1.5 KiB"
    assert charts.human_bytes(5 * 1024**3) == "5.0 GiB"
    assert charts.human_bytes(None) == "–"


def test_a_running_run_shows_its_progress_and_refreshes(alice_client, plan):
    run = Run.objects.create(plan=plan, kind="backup", state="running", started=timezone.now(), progress=0.42,
                             progress_message="files /srv: 42 MiB read")  # fmt: skip

    page = alice_client.get(f"/o/acme/backups/runs/{run.pk}/").content.decode()

    assert 'http-equiv="refresh"' in page and "42%" in page and "files /srv: 42 MiB read" in page


def test_the_snapshots_list_marks_what_the_retention_forgot(plan, data_tree):
    from keepwell.backups.views import snapshot_rows

    now = timezone.now()
    sources = [
        {"kind": "path", "paths": [str(data_tree)]},
        {"kind": "postgres", "url": "postgres://u:secret@db/x"},
    ]
    old = Run.objects.create(plan=plan, kind="backup", state="succeeded", finished=now - timedelta(days=1),
                             sources=sources, snapshots=[{"source": 0, "id": "a" * 64}, {"source": 1, "id": "b" * 64}])  # fmt: skip
    Run.objects.create(
        plan=plan, kind="forget", state="succeeded", finished=now, details={"removed": ["a" * 64]}
    )

    rows = snapshot_rows(plan)

    assert [(r["id"], r["forgotten"]) for r in rows] == [("aaaaaaaa", True), ("bbbbbbbb", False)]
    assert rows[0]["source"] == f"files {data_tree}" and rows[0]["run"] == old
    assert rows[1]["source"] == "PostgreSQL postgres://u:•••@db/x"
