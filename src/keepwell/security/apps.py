from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "keepwell.security"
    label = "security"
