from django.apps import AppConfig


class DocumentationConfig(AppConfig):
    name = "keepwell.documentation"
    label = "documentation"
