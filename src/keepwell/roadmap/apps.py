from django.apps import AppConfig


class RoadmapConfig(AppConfig):
    name = "keepwell.roadmap"
    label = "roadmap"
