"""The backups models: repositories found by an encrypted location, plans, runs."""

import pytest
from django.db import IntegrityError

from keepwell.backups.models import Plan, Repository, RepositoryConflict, Run
from keepwell.backups.models.repositories import display_location
from keepwell.backups.validation import redact

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "location, shown",
    [
        ("/srv/backups/shop", "/srv/backups/shop"),
        ("rest:https://user:secret@backup.example:8000/shop", "rest:https://•••@backup.example:8000/shop"),
        ("s3:https://s3.example/bucket", "s3:https://s3.example/bucket"),
        ("sftp:backup@host:/srv/restic", "sftp:backup@host:/srv/restic"),
    ],
)
def test_credentials_in_a_location_are_hidden_when_shown(location, shown):
    assert display_location(location) == shown


def test_a_repository_is_found_again_by_its_location(acme):
    first = Repository.for_location(acme, " /srv/backups/shop ", "pw", {"AWS_ACCESS_KEY_ID": "k"})
    again = Repository.for_location(acme, "/srv/backups/shop", "pw")

    assert again.pk == first.pk
    assert again.env == {"AWS_ACCESS_KEY_ID": "k"}  # not given: kept
    spec = again.spec()
    assert (
        spec.location == "/srv/backups/shop"
        and spec.password == "pw"
        and spec.env == {"AWS_ACCESS_KEY_ID": "k"}
    )


def test_another_password_for_a_known_location_is_refused(acme):
    Repository.for_location(acme, "/srv/backups/shop", "pw")

    with pytest.raises(RepositoryConflict, match="another password"):
        Repository.for_location(acme, "/srv/backups/shop", "other")


def test_each_organization_has_its_own_repository_rows(acme, other_org):
    a = Repository.for_location(acme, "/srv/shared", "pw")
    b = Repository.for_location(other_org, "/srv/shared", "other")

    assert a.pk != b.pk
    with pytest.raises(IntegrityError):
        Repository.objects.create(organization=acme, location="/srv/shared", password="x")


def test_a_run_keeps_the_newest_output(service, acme):
    plan = Plan.objects.create(organization=acme, service=service, name="p",
                               repository=Repository.for_location(acme, "/r", "pw"))  # fmt: skip
    run = Run(plan=plan, kind="backup")
    for i in range(5000):
        run.log(f"line {i}")

    assert len(run.output) <= 20_000
    assert run.output.endswith("line 4999")
    assert plan.tag == f"keepwell-plan-{plan.pk}"
    assert plan.schedules() == {"backup": "0 3 * * *", "forget": "30 4 * * *", "check": "0 5 * * 0",
                                "drill": "0 6 * * 0"}  # fmt: skip


def test_database_passwords_are_hidden_in_sources_and_targets():
    sources = [
        {"kind": "postgres", "url": "postgres://app:s3cret@db/shop"},
        {"kind": "path", "paths": ["/a"]},
    ]

    shown = redact(sources)

    assert shown[0]["url"] == "postgres://app:•••@db/shop"
    assert shown[1] == sources[1]
    assert redact({"kind": "mysql", "url": "mysql://root@db/x"}) == {
        "kind": "mysql",
        "url": "mysql://root@db/x",
    }


def test_deleting_a_service_deletes_its_plans_and_runs_and_keeps_the_repository(service, acme):
    repository = Repository.for_location(acme, "/r", "pw")
    plan = Plan.objects.create(organization=acme, service=service, name="p", repository=repository)
    Run.objects.create(plan=plan, kind="backup")

    service.delete()

    assert not Plan.objects.exists() and not Run.objects.exists()
    assert Repository.objects.filter(pk=repository.pk).exists()


def test_a_repository_in_use_by_a_plan_cannot_be_deleted_alone(service, acme):
    from django.db.models import RestrictedError

    repository = Repository.for_location(acme, "/r", "pw")
    Plan.objects.create(organization=acme, service=service, name="p", repository=repository)

    with pytest.raises(RestrictedError):
        repository.delete()


def test_the_audit_log_never_holds_the_repository_credentials_or_database_passwords(service, acme):
    from keepwell.core.models import AuditEvent

    repository = Repository.for_location(acme, "rest:https://user:hunter2@backup.example/shop", "pw-secret",
                                         {"AWS_SECRET_ACCESS_KEY": "aws-secret"})  # fmt: skip
    plan = Plan.objects.create(organization=acme, service=service, name="p", repository=repository,
                               sources=[{"kind": "postgres", "url": "postgres://app:db-secret@db/shop"}])  # fmt: skip
    Run.objects.create(plan=plan, kind="backup", sources=plan.sources)

    logged = str(list(AuditEvent.objects.values_list("changes", "object_repr")))
    for secret in ("hunter2", "pw-secret", "aws-secret", "db-secret"):
        assert secret not in logged
    assert AuditEvent.objects.filter(object_type="backups.repository", action="create").exists()
    assert AuditEvent.objects.filter(object_type="backups.plan", action="create").exists()
