import time

from . import audit, metrics


class MetricsMiddleware:
    """Count requests by method and status for /metrics."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        metrics.observe_request(request.method, response.status_code, time.perf_counter() - started)
        return response


class CurrentOrganizationMiddleware:
    """Attribute audited changes made during the request to the signed-in user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        with audit.acting_as(
            user if user is not None and user.is_authenticated else None, request.META.get("REMOTE_ADDR")
        ):
            return self.get_response(request)
