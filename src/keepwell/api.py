"""The JSON API under /api/v1/ (django-ninja). Each app contributes a router from its own api.py."""

from ninja import NinjaAPI

api = NinjaAPI(title="keepwell", version="1", urls_namespace="api")
