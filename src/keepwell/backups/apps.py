from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "keepwell.backups"
    label = "backups"

    def ready(self):
        from keepwell.core import audit

        from . import checks  # noqa: F401  registers the scorecard status

        # Runs and storage samples change by themselves all day: they are the plan's history, not people's acts.
        # Repositories are audited explicitly (their location may hold credentials), see Repository.for_location.
        audit.SKIP.update({"backups.run", "backups.storagesample", "backups.repository"})
        # A plan's sources may hold database URLs with passwords; a repository's env holds keys.
        audit.SECRET_FIELDS.update({"sources", "env"})
