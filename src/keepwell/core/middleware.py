import time

from . import audit, clientip, metrics


class ForwardedProtoMiddleware:
    """Drop X-Forwarded-Proto unless a trusted proxy sent it: Django's SECURE_PROXY_SSL_HEADER believes anyone.

    A client that reaches keepwell past the proxy (or any client, when no proxy is trusted) could otherwise
    make a plain-HTTP request pass for HTTPS.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "HTTP_X_FORWARDED_PROTO" in request.META and not clientip.is_trusted(
            request.META.get("REMOTE_ADDR"), clientip.trusted_proxies()
        ):
            del request.META["HTTP_X_FORWARDED_PROTO"]
        return self.get_response(request)


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
            user if user is not None and user.is_authenticated else None, clientip.from_request(request)
        ):
            return self.get_response(request)
