"""The Sentry ingestion protocol under /api/<project_id>/: envelope/ and store/."""

urlpatterns = []
