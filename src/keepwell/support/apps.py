from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "keepwell.support"
    label = "support"
