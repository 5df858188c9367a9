"""DSN key pages under /o/<org>/errors/keys/."""

urlpatterns = []
