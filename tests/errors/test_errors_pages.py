"""The error pages: the list with filters, a group's page and its actions, an event's page."""

import json

import pytest
import sentry_sdk
from django.test import Client
from errors_sdk import capture, checkout, report

from keepwell.core.models import Service
from keepwell.errors import processing
from keepwell.errors.models import ErrorEvent, ErrorGroup, EventAttachment


def send(service, *runs, release="1.0.0", **options):
    for body in capture(lambda: [r() for r in runs], release=release, **options):
        processing.process_body(service, body)


def hostile():
    raise ValueError("<script>alert('x')</script>")


@pytest.fixture
def group(service):
    def with_crumbs():
        sentry_sdk.add_breadcrumb(category="db", message="SELECT * FROM carts WHERE id = 7")
        report(checkout, 1, user={"id": "u1", "email": "u1@example.org"}, tags={"region": "eu"})()

    send(service, with_crumbs, environment="production")
    return ErrorGroup.objects.get()


@pytest.mark.django_db
def test_the_list_shows_groups_and_filters_them(alice_client, group, service, acme):
    other = Service.objects.create(organization=acme, name="Billing", slug="billing")
    send(other, lambda: sentry_sdk.capture_message("Invoice run failed"), release="9.0.0")
    page = alice_client.get("/o/acme/errors/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "KeyError: &#x27;total&#x27;" in body and "Invoice run failed" in body
    body = alice_client.get("/o/acme/errors/", {"service": "billing"}).content.decode()
    assert "Invoice run failed" in body and "total" not in body
    body = alice_client.get("/o/acme/errors/", {"release": "1.0.0"}).content.decode()
    assert "total" in body and "Invoice run failed" not in body
    body = alice_client.get("/o/acme/errors/", {"environment": "production", "q": "key"}).content.decode()
    assert "total" in body and "Invoice" not in body
    body = alice_client.get("/o/acme/errors/", {"status": "resolved"}).content.decode()
    assert "No error group matches these filters" in body


@pytest.mark.django_db
def test_the_list_explains_what_to_do_when_empty(alice_client, service):
    body = alice_client.get("/o/acme/errors/").content.decode()
    assert "No errors yet" in body and "DSN" in body


@pytest.mark.django_db
def test_the_group_page_shows_counts_tags_releases_and_the_latest_event(alice_client, group):
    body = alice_client.get(f"/o/acme/errors/{group.pk}/").content.decode()
    assert "Users affected" in body
    assert "region" in body and "eu" in body
    assert "1.0.0" in body
    event = ErrorEvent.objects.get()
    assert f"/o/acme/errors/{group.pk}/events/{event.event_id}/" in body
    assert "Resolve in next release" in body and "csrfmiddlewaretoken" in body


@pytest.mark.django_db
def test_actions_change_the_status_with_csrf(alice, group):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    url = f"/o/acme/errors/{group.pk}/status"
    assert client.post(url, {"action": "resolve"}).status_code == 403, "no CSRF token: refused"
    page = client.get(f"/o/acme/errors/{group.pk}/")
    token = page.cookies["csrftoken"].value
    response = client.post(url, {"action": "resolve_next", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.status == "resolved_next"
    client.post(
        url, {"action": "ignore", "ignore_count": "10", "ignore_hours": "", "csrfmiddlewaretoken": token}
    )
    group.refresh_from_db()
    assert (group.status, group.ignored_until_count) == ("ignored", 11)
    response = client.post(
        url, {"action": "ignore", "ignore_hours": "-3", "csrfmiddlewaretoken": token}, follow=True
    )
    assert "Give a whole number from 1" in response.content.decode()
    client.post(url, {"action": "unresolve", "csrfmiddlewaretoken": token})
    group.refresh_from_db()
    assert group.status == "unresolved"


@pytest.mark.django_db
def test_a_viewer_may_look_but_not_act(victor, group):
    client = Client()
    client.force_login(victor)
    assert client.get(f"/o/acme/errors/{group.pk}/").status_code == 200
    assert client.post(f"/o/acme/errors/{group.pk}/status", {"action": "resolve"}).status_code == 403
    group.refresh_from_db()
    assert group.status == "unresolved"


@pytest.mark.django_db
def test_the_event_page_shows_trace_breadcrumbs_user_and_tags(alice_client, group):
    event = ErrorEvent.objects.get()
    body = alice_client.get(f"/o/acme/errors/{group.pk}/events/{event.event_id}/").content.decode()
    assert "Stack trace" in body and "checkout" in body and "cart[&quot;total&quot;]" in body
    assert "SELECT * FROM carts WHERE id = 7" in body
    assert "u1@example.org" in body and "region" in body
    assert alice_client.get(f"/o/acme/errors/{group.pk}/events/{'f' * 32}/").status_code == 404


@pytest.mark.django_db
def test_pages_escape_what_the_sdk_sent(alice_client, service):
    send(service, report(hostile))
    group = ErrorGroup.objects.get()
    event = ErrorEvent.objects.get()
    for url in (
        "/o/acme/errors/",
        f"/o/acme/errors/{group.pk}/",
        f"/o/acme/errors/{group.pk}/events/{event.event_id}/",
    ):
        body = alice_client.get(url).content.decode()
        assert "<script>alert" not in body and "&lt;script&gt;alert" in body, url


@pytest.mark.django_db
def test_attachments_and_user_reports_show_on_the_event(alice_client, service, settings):
    settings.ERRORS_MAX_ATTACHMENT = 50

    def run():
        with sentry_sdk.new_scope() as scope:
            scope.add_attachment(bytes=b"log line 1\nlog line 2", filename="app.log")
            scope.add_attachment(bytes=b"x" * 100, filename="core.dump")
            report(checkout, 1)()

    send(service, run)
    event = ErrorEvent.objects.get()
    user_report = {
        "event_id": event.event_id,
        "name": "Ann",
        "email": "ann@example.org",
        "comments": "It broke when I paid",
    }
    body = b'{}\n{"type":"user_report"}\n' + json.dumps(user_report).encode() + b"\n"
    assert processing.process_body(service, body).reports == 1
    page = alice_client.get(f"/o/acme/errors/{event.group_id}/events/{event.event_id}/").content.decode()
    assert "It broke when I paid" in page and "ann@example.org" in page
    assert "app.log" in page and "core.dump" in page and "larger than the size limit" in page
    kept = EventAttachment.objects.get(filename="app.log")
    download = alice_client.get(f"/o/acme/errors/attachments/{kept.pk}")
    assert download.content == b"log line 1\nlog line 2"
    assert download["Content-Disposition"].startswith("attachment;")
    dropped = EventAttachment.objects.get(filename="core.dump")
    assert alice_client.get(f"/o/acme/errors/attachments/{dropped.pk}").status_code == 404


@pytest.mark.django_db
def test_another_organization_gets_404_everywhere(charlie_client, group):
    event = ErrorEvent.objects.get()
    for url in (
        f"/o/acme/errors/{group.pk}/",
        f"/o/acme/errors/{group.pk}/events/{event.event_id}/",
        f"/o/globex/errors/{group.pk}/",
        f"/o/globex/errors/{group.pk}/events/{event.event_id}/",
    ):
        assert charlie_client.get(url).status_code == 404, url
    assert (
        charlie_client.post(f"/o/globex/errors/{group.pk}/status", {"action": "resolve"}).status_code == 404
    )
    group.refresh_from_db()
    assert group.status == "unresolved"


@pytest.mark.django_db
def test_the_scorecard_reports_new_and_regressed_errors(service, group):
    from keepwell.core.scorecard import status
    from keepwell.errors.checks import status as errors_status
    from keepwell.errors.states import change_status

    result = errors_status(service)
    assert result.state == "attention" and "1 new error this week" in result.reason
    change_status(group, "resolved")
    assert errors_status(service).state == "ok"
    send(service, report(checkout, 1), release="1.1.0")
    result = errors_status(service)
    assert result.state == "failing" and "regressed" in result.reason
    assert status("monitoring", service).state == "failing"
    assert result.url == "/o/acme/errors/?service=shop-api"


@pytest.mark.django_db
def test_the_scorecard_says_not_set_up_without_a_dsn(service):
    from keepwell.errors.checks import status as errors_status

    assert errors_status(service).state == "not set up"
