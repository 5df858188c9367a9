from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "keepwell.monitoring"
    label = "monitoring"
