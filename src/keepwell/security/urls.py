"""The security pages, under /o/<org>/security/."""

urlpatterns = []
