"""The backups pages, under /o/<org>/backups/."""

urlpatterns = []
