from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "keepwell.monitoring"
    label = "monitoring"

    def ready(self):
        from . import checks  # noqa: F401  registers the scorecard status
