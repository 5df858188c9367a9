"""The error groups API: list (pinned fields), detail, status changes, events and release health."""

import pytest
from errors_sdk import capture, checkout, report

from keepwell.core.models import Finding
from keepwell.errors import processing
from keepwell.errors.models import ErrorEvent, ErrorGroup


def send(service, *runs, release="1.0.0", **options):
    for body in capture(lambda: [r() for r in runs], release=release, **options):
        processing.process_body(service, body)


@pytest.fixture
def groups(service):
    send(
        service,
        report(checkout, 1, user={"id": "u1"}, tags={"region": "eu"}),
        report(checkout, 2),
        environment="prod",
    )
    send(service, lambda: __import__("sentry_sdk").capture_message("Disk 93% full"), release="1.1.0")
    return ErrorGroup.objects.order_by("id")


URL = "/api/v1/services/shop-api/error-groups"


@pytest.mark.django_db
def test_it_lists_groups_with_the_pinned_fields(alice_api, groups):
    response = alice_api.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    first = {g["title"]: g for g in body["items"]}["KeyError: 'total'"]
    assert {k: first[k] for k in ("id", "title", "count", "status", "regressed")} == {
        "id": groups[0].pk,
        "title": "KeyError: 'total'",
        "count": 2,
        "status": "unresolved",
        "regressed": False,
    }
    assert first["users"] == 1 and first["service"] == "shop-api"


@pytest.mark.django_db
def test_it_filters_by_status_release_environment_and_text(alice_api, groups):
    def titles(query):
        response = alice_api.get(URL, query)
        assert response.status_code == 200, response.content
        return [g["title"] for g in response.json()["items"]]

    assert titles({"release": "1.1.0"}) == ["Disk 93% full"]
    assert titles({"environment": "prod"}) == ["KeyError: 'total'"]
    assert titles({"q": "disk"}) == ["Disk 93% full"]
    assert titles({"status": "resolved"}) == []
    assert alice_api.get(URL, {"status": "bogus"}).status_code == 422


@pytest.mark.django_db
def test_it_shows_a_group_with_its_releases_and_tags(alice_api, groups):
    response = alice_api.get(f"{URL}/{groups[0].pk}")
    body = response.json()
    assert [r["value"] for r in body["releases"]] == ["1.0.0"]
    assert [e["value"] for e in body["environments"]] == ["prod"]
    assert body["tags"]["region"][0]["value"] == "eu"
    assert "user" not in body["tags"]


@pytest.mark.django_db
def test_it_resolves_ignores_and_unresolves_a_group(alice_api, groups, service):
    url = f"{URL}/{groups[0].pk}"
    response = alice_api.patch(url, {"status": "resolved"})
    assert response.status_code == 200 and response.json()["status"] == "resolved"
    assert response.json()["resolved_release"] == "1.0.0"
    assert Finding.objects.get(key=f"group:{groups[0].pk}").state == "resolved"
    response = alice_api.patch(url, {"status": "ignored", "ignore_count": 5})
    assert response.json()["ignored_until_count"] == 7
    response = alice_api.patch(url, {"status": "unresolved"})
    assert response.json()["status"] == "unresolved"
    bad = alice_api.patch(url, {"status": "resolved", "ignore_count": 3})
    assert bad.status_code == 422 and "only go with the status ignored" in bad.json()["detail"]
    past = alice_api.patch(url, {"status": "ignored", "ignore_until": "2001-01-01T00:00:00Z"})
    assert past.status_code == 422 and "in the past" in past.json()["detail"]
    assert alice_api.patch(url, {"status": "gone"}).status_code == 422


@pytest.mark.django_db
def test_a_read_only_token_or_a_viewer_may_not_change_a_group(alice_api_readonly, groups):
    assert alice_api_readonly.patch(f"{URL}/{groups[0].pk}", {"status": "resolved"}).status_code == 403


@pytest.mark.django_db
def test_it_lists_and_shows_events(alice_api, groups):
    response = alice_api.get(f"{URL}/{groups[0].pk}/events")
    items = response.json()["items"]
    assert len(items) == 2 and {i["release"] for i in items} == {"1.0.0"}
    event_id = items[0]["event_id"]
    detail = alice_api.get(f"{URL}/{groups[0].pk}/events/{event_id}").json()
    assert detail["data"]["exceptions"][-1]["type"] == "KeyError"
    assert alice_api.get(f"{URL}/{groups[0].pk}/events/{'0' * 32}").status_code == 404
    assert alice_api.get(f"{URL}/{groups[0].pk}/events/not-an-id").status_code == 422
    other = ErrorEvent.objects.exclude(group=groups[0]).first()
    assert alice_api.get(f"{URL}/{groups[0].pk}/events/{other.event_id}").status_code == 404


@pytest.mark.django_db
def test_another_organization_sees_none_of_it(charlie_api, groups):
    assert charlie_api.get(URL).status_code == 404
    assert charlie_api.get(f"{URL}/{groups[0].pk}").status_code == 404
    assert charlie_api.patch(f"{URL}/{groups[0].pk}", {"status": "resolved"}).status_code == 404
    assert ErrorGroup.objects.get(pk=groups[0].pk).status == "unresolved"


@pytest.mark.django_db
def test_unknown_groups_answer_404_with_a_message(alice_api, groups):
    response = alice_api.get(f"{URL}/999999")
    assert response.status_code == 404 and "error group" in response.json()["detail"]
    assert alice_api.get("/api/v1/services/nope/error-groups").status_code == 404
