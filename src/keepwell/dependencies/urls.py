"""The dependencies pages, under /o/<org>/dependencies/."""

urlpatterns = []
