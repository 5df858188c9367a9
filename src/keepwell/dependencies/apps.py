from django.apps import AppConfig


class DependenciesConfig(AppConfig):
    name = "keepwell.dependencies"
    label = "dependencies"

    def ready(self):
        from . import checks  # noqa: F401  registers the scorecard status
