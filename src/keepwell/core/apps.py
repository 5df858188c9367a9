from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "keepwell.core"
    label = "core"
    verbose_name = "keepwell core"

    def ready(self):
        from . import alerting, audit, signals  # noqa: F401  (connect receivers)
