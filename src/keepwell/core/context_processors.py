from django.conf import settings


def keepwell(request):
    """Expose the site name, the current organization and the user's organizations to every template."""
    ctx = {"SITE_NAME": settings.SITE_NAME, "BASE_URL": settings.BASE_URL}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        ctx["my_memberships"] = list(user.memberships.select_related("organization"))
    ctx["org"] = getattr(request, "org", None)
    ctx["membership"] = getattr(request, "membership", None)
    return ctx
