from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "keepwell.backups"
    label = "backups"
