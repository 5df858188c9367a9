from django.apps import AppConfig


class DependenciesConfig(AppConfig):
    name = "keepwell.dependencies"
    label = "dependencies"
