from django.apps import AppConfig


class ErrorsConfig(AppConfig):
    name = "keepwell.errors"
    label = "errors"
