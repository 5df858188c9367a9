from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "keepwell.releases"
    label = "releases"
