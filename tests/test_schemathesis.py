"""schemathesis generates requests from /api/v1/openapi.json: no answer may be a 5xx or break the schema."""

from datetime import timedelta

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from keepwell.core import findings
from keepwell.core.models import (
    ApiToken,
    Channel,
    Deploy,
    Link,
    MaintenanceWindow,
    Release,
    RoutingRule,
    Service,
)
from keepwell.core.models.tokens import hash_token

# The quick run: examples and fuzzing (seconds). The coverage phase (every boundary and every unexpected method
# of every operation, ~2,500 requests, two minutes) runs in the test marked slow.
quick = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application(), config=quick)
full_schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
# The seeded token, known in advance so that schemathesis sends it as the API's own authentication.
PLAIN_TOKEN = "kw_schemathesis-read-write-token"


@full_schema.auth()
@schema.auth()
class BearerToken:
    def get(self, case, context):
        return PLAIN_TOKEN

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Keep the database connection open across requests, as Django's test client does.

    schemathesis calls the WSGI application directly, and its request_finished signal would close the
    connection (CONN_MAX_AGE=0 on PostgreSQL) in the middle of the test's transaction.
    """
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(acme, alice):
    """Seed acme with one of everything and return alice's read-write token (its plain text is PLAIN_TOKEN)."""
    service = Service.objects.create(
        organization=acme, name="Shop API", slug="shop-api", environments=["prod"]
    )
    finding = findings.raise_finding(service, source="monitoring", key="m:1", title="Shop is down")
    channel = Channel.objects.create(
        organization=acme, name="Ops", kind="webhook", target="https://hooks.example/x"
    )
    rule = RoutingRule.objects.create(organization=acme, name="All")
    rule.channels.add(channel)
    now = timezone.now()
    MaintenanceWindow.objects.create(
        organization=acme, title="Patch", starts_at=now, ends_at=now + timedelta(hours=1)
    )
    release = Release.objects.create(service=service, version="1.0.0")
    Deploy.objects.create(release=release, environment="prod")
    Link.objects.create(
        organization=acme,
        source_type_id=_ct(finding),
        source_id=str(finding.pk),
        target_type_id=_ct(release),
        target_id=str(release.pk),
    )
    return ApiToken.objects.create(
        organization=acme, user=alice, prefix=PLAIN_TOKEN[:10], token_hash=hash_token(PLAIN_TOKEN), write=True
    )


def _ct(obj):
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(obj).pk


HYPOTHESIS = settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


def _check(case, token):
    # A generated DELETE /tokens/{id} may revoke the test's own token; it comes back for the next request.
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=None)
    # Not positive_data_acceptance: some rules cannot be written in OpenAPI (a slug must be free, owners must be
    # members, ends_at after starts_at), so a schema-valid request may rightly answer 422.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])


@pytest.mark.django_db
@schema.parametrize()
@HYPOTHESIS
def test_it_answers_every_generated_request_within_the_schema(case, token):
    _check(case, token)


@pytest.mark.slow
@pytest.mark.django_db
@full_schema.parametrize()
@HYPOTHESIS
def test_it_answers_every_boundary_case_within_the_schema(case, token):
    _check(case, token)
