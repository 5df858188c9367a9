from django.apps import AppConfig


class ErrorsConfig(AppConfig):
    name = "keepwell.errors"
    label = "errors"

    def ready(self):
        from keepwell.core import audit

        from . import checks  # noqa: F401  (registers the scorecard status)

        # The ingest spool takes thousands of rows a minute and its jobs delete them: machine traffic, not
        # people's acts, so the audit log leaves it out (as core does for pings and check results).
        audit.SKIP.add("errors.rawenvelope")
        # Likewise what processing writes for every event and session; a person's change of a
        # group's status is still audited (ErrorGroup is not left out).
        audit.SKIP.update(
            {
                "errors.errorevent",
                "errors.eventattachment",
                "errors.userreport",
                "errors.grouptag",
                "errors.grouphour",
                "errors.releasesession",
                "errors.sessionbucket",
            }
        )
