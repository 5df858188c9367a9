from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "keepwell.security"
    label = "security"

    def ready(self):
        from . import checks  # noqa: F401  registers the scorecard status
