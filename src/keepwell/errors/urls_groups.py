"""Error group and event pages under /o/<org>/errors/."""

urlpatterns = []
