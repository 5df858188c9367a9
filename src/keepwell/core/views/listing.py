"""Pagination and search shared by every list page."""

from django.core.paginator import Paginator
from django.db.models import Q

PER_PAGE = 25


def search(queryset, request, *fields):
    """Filter `queryset` by the `q` parameter across `fields` (case-insensitive contains)."""
    # PostgreSQL refuses NUL characters in text: drop them rather than answer 500.
    q = request.GET.get("q", "").replace("\x00", "").strip()[:200]
    if not q:
        return queryset, ""
    cond = Q()
    for f in fields:
        cond |= Q(**{f"{f}__icontains": q})
    return queryset.filter(cond), q


def paginate(request, queryset, per_page=PER_PAGE):
    """Return the page of `queryset` that the `page` parameter asks for (bad numbers give the nearest page)."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))
