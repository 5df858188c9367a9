"""Operations endpoints: health for load balancers, metrics for Prometheus."""

from django.urls import path

from ..views import ops

urlpatterns = [
    path("healthz", ops.healthz, name="healthz"),
    path("metrics", ops.metrics_view, name="metrics"),
]
