"""The ingestion endpoints through Django: keys, encodings, limits, item filtering, duplicates and rate limits."""

import gzip
import json
import zlib

import brotli
import pytest
from django.test import Client
from sentry_sdk.envelope import Envelope as SdkEnvelope

from keepwell.errors.envelope import parse_envelope
from keepwell.errors.models import Dsn, RawEnvelope

EVENT_ID = "9ec79c33ec9942ab8353589fcb2e04dc"


@pytest.fixture(autouse=True)
def fresh_cache():
    """Start each test with no remembered event ids or rate counts (they live in Redis when it is set)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def dsn(service):
    return Dsn.issue(service, label="web", rate_limit=0)


def envelope_bytes(event_id=EVENT_ID, dsn=None, extra_items=(), message="boom"):
    headers = {"event_id": event_id} if event_id else {}
    if dsn is not None:
        headers["dsn"] = dsn
    sdk = SdkEnvelope(headers=headers)
    sdk.add_event({"event_id": event_id, "message": message, "level": "error"})
    for item in extra_items:
        sdk.add_item(item)
    return sdk.serialize()


def auth(key):
    return {"HTTP_X_SENTRY_AUTH": f"Sentry sentry_version=7, sentry_client=test/1, sentry_key={key}"}


def post(dsn, body, endpoint="envelope", encoding=None, project_id=None, **extra):
    if encoding:
        extra["HTTP_CONTENT_ENCODING"] = encoding
    return Client().post(
        f"/api/{project_id or dsn.project_id}/{endpoint}/",
        body,
        content_type="application/x-sentry-envelope",
        **{**auth(dsn.public_key), **extra},
    )


def test_an_envelope_is_spooled_and_answered_with_its_event_id(dsn):
    response = post(dsn, envelope_bytes())
    assert response.status_code == 200, response.content
    assert response.json() == {"id": EVENT_ID}
    assert response["Access-Control-Allow-Origin"] == "*"
    raw = RawEnvelope.objects.get()
    assert raw.dsn == dsn and raw.service == dsn.service and raw.event_id == EVENT_ID
    assert raw.client_ip == "127.0.0.1"
    assert parse_envelope(bytes(raw.body)).items[0].json()["message"] == "boom"


def test_the_key_may_come_from_the_query_string(dsn):
    response = Client().post(
        f"/api/{dsn.project_id}/envelope/?sentry_key={dsn.public_key}&sentry_version=7",
        envelope_bytes(),
        content_type="text/plain;charset=UTF-8",
    )
    assert response.status_code == 200, response.content
    assert RawEnvelope.objects.count() == 1


def test_the_key_may_come_from_the_envelope_header_dsn(dsn):
    response = Client().post(
        f"/api/{dsn.project_id}/envelope/", envelope_bytes(dsn=dsn.dsn), content_type="text/plain"
    )
    assert response.status_code == 200, response.content
    assert RawEnvelope.objects.count() == 1


def test_the_store_endpoint_spools_the_event_as_an_envelope(dsn):
    event = {"event_id": EVENT_ID, "message": "stored", "platform": "python"}
    response = post(dsn, json.dumps(event), endpoint="store")
    assert response.status_code == 200 and response.json() == {"id": EVENT_ID}
    envelope = parse_envelope(bytes(RawEnvelope.objects.get().body))
    assert envelope.event_id == EVENT_ID and envelope.items[0].json() == event


@pytest.mark.parametrize(
    "encoding, compress",
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some clients send it
        ("br", brotli.compress),
    ],
)
def test_compressed_bodies_are_decompressed(dsn, encoding, compress):
    response = post(dsn, compress(envelope_bytes()), encoding=encoding)
    assert response.status_code == 200, response.content
    assert parse_envelope(bytes(RawEnvelope.objects.get().body)).event_id == EVENT_ID


def test_a_preflight_request_gets_cors_headers(dsn):
    response = Client().options(
        f"/api/{dsn.project_id}/envelope/",
        HTTP_ORIGIN="https://shop.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "x-sentry-auth" in response["Access-Control-Allow-Headers"]


def test_get_is_not_allowed(dsn):
    response = Client().get(f"/api/{dsn.project_id}/envelope/")
    assert response.status_code == 405 and "POST" in response.json()["detail"]


# --- Keys ----------------------------------------------------------------------------------------------


def test_an_unknown_key_is_refused_with_401(dsn):
    response = Client().post(
        f"/api/{dsn.project_id}/envelope/", envelope_bytes(), content_type="text/plain", **auth("0" * 32)
    )
    assert response.status_code == 401 and "Unknown DSN key" in response.json()["detail"]
    assert not RawEnvelope.objects.exists()


def test_a_malformed_key_is_refused_with_401(dsn):
    response = Client().post(
        f"/api/{dsn.project_id}/envelope/", envelope_bytes(), content_type="text/plain", **auth("x")
    )
    assert response.status_code == 401 and "32 hex digits" in response.json()["detail"]


def test_no_key_at_all_is_refused_with_401(dsn):
    response = Client().post(f"/api/{dsn.project_id}/envelope/", envelope_bytes(), content_type="text/plain")
    assert response.status_code == 401 and "X-Sentry-Auth" in response.json()["detail"]


def test_a_revoked_key_is_refused_with_403(dsn):
    dsn.revoke()
    response = post(dsn, envelope_bytes())
    assert response.status_code == 403 and "revoked" in response.json()["detail"]
    assert response["X-Sentry-Error"]
    assert not RawEnvelope.objects.exists()


def test_a_key_sent_to_another_project_is_refused_with_403(dsn, service):
    other = Dsn.issue(service)
    response = post(dsn, envelope_bytes(), project_id=other.project_id)
    assert response.status_code == 403 and "does not belong to project" in response.json()["detail"]


def test_an_envelope_dsn_for_another_project_is_refused(dsn):
    body = envelope_bytes(dsn=f"http://{dsn.public_key}@testserver/1")
    response = Client().post(f"/api/{dsn.project_id}/envelope/", body, content_type="text/plain")
    assert response.status_code == 403 and "not project" in response.json()["detail"]


# --- Hostile bodies ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, message",
    [
        (b"", "empty"),
        (b'{"event_id":"x"}\n{"type":"event","length":500}\n{}', "truncated"),
        (b'{}\n{"type":"event","length":1}\n{}', "length is wrong"),
        (b'{}\n{"type":"event"}\n{"message": "unterminated', "not valid JSON"),
        (b'{}\n{"type":"event"}\n[1, 2]', "must be a JSON object"),
        (b'{}\n{"type":"session"}\n{bad}', "Item 1 (session)"),
        (b'{}\n{"type":"event"}\n' + b"[" * 50_000 + b"]" * 50_000, "nested 50000 levels"),
        (b"{}\n" + b'{"type":"session"}\n{}\n' * 101, "more than 100 items"),
    ],
)
def test_malformed_envelopes_get_a_400_with_a_message(dsn, body, message):
    response = post(dsn, body)
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"]
    assert not RawEnvelope.objects.exists()


def test_a_store_body_that_is_not_json_gets_a_400(dsn):
    response = post(dsn, b"{nope", endpoint="store")
    assert response.status_code == 400 and "not valid JSON" in response.json()["detail"]


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_a_corrupt_compressed_body_gets_a_400(dsn, encoding):
    response = post(dsn, b"this is not compressed", encoding=encoding)
    assert response.status_code == 400 and f"not valid {encoding}" in response.json()["detail"]


def test_a_cut_short_gzip_body_gets_a_400(dsn):
    response = post(dsn, gzip.compress(envelope_bytes())[:-20], encoding="gzip")
    assert response.status_code == 400 and "cut short" in response.json()["detail"]


def test_an_unknown_encoding_gets_a_415(dsn):
    response = post(dsn, envelope_bytes(), encoding="zstd")
    assert response.status_code == 415 and "not supported" in response.json()["detail"]


def test_a_declared_body_over_the_limit_gets_a_413(dsn, settings):
    settings.ERRORS_MAX_BODY = 1000
    response = post(dsn, envelope_bytes(message="x" * 2000))
    assert response.status_code == 413 and "over the limit of 1000 bytes" in response.json()["detail"]


@pytest.mark.parametrize("encoding, compress", [("gzip", gzip.compress), ("br", brotli.compress)])
def test_a_compression_bomb_gets_a_413(dsn, settings, encoding, compress):
    settings.ERRORS_MAX_DECOMPRESSED = 1024 * 1024
    bomb = compress(b'{}\n{"type":"attachment"}\n' + b"\0" * (50 * 1024 * 1024))
    assert len(bomb) < 100_000
    response = post(dsn, bomb, encoding=encoding)
    assert response.status_code == 413 and "once decompressed" in response.json()["detail"]


# --- Items -------------------------------------------------------------------------------------------------


def sdk_item(type_, payload=b"{}", **headers):
    from sentry_sdk.envelope import Item, PayloadRef

    return Item(payload=PayloadRef(bytes=payload), type=type_, headers=headers)


def test_unknown_item_types_are_dropped_without_error(dsn):
    body = envelope_bytes(extra_items=[sdk_item("profile", b"{}"), sdk_item("replay_recording", b"\x00\x01")])
    response = post(dsn, body)
    assert response.status_code == 200
    kept = parse_envelope(bytes(RawEnvelope.objects.get().body))
    assert [i.type for i in kept.items] == ["event"]


def test_an_envelope_of_only_unknown_items_is_answered_but_not_spooled(dsn):
    response = post(dsn, b'{}\n{"type":"check_in"}\n{}')
    assert response.status_code == 200 and response.json() == {}
    assert not RawEnvelope.objects.exists()


def test_every_kept_item_type_is_spooled(dsn):
    kinds = ["session", "sessions", "user_report", "feedback", "client_report", "transaction"]
    items = [sdk_item(kind, b'{"x":1}') for kind in kinds] + [
        sdk_item("attachment", b"\x00bin", filename="a")
    ]
    response = post(dsn, envelope_bytes(extra_items=items))
    assert response.status_code == 200
    kept = parse_envelope(bytes(RawEnvelope.objects.get().body))
    assert [i.type for i in kept.items] == ["event", *kinds, "attachment"]
    assert kept.items[-1].payload == b"\x00bin" and kept.items[-1].headers["filename"] == "a"


def test_an_attachment_over_its_limit_is_dropped_and_the_event_kept(dsn, settings):
    settings.ERRORS_MAX_ATTACHMENT = 100
    items = [
        sdk_item("attachment", b"a" * 101, filename="big"),
        sdk_item("attachment", b"ok", filename="small"),
    ]
    response = post(dsn, envelope_bytes(extra_items=items))
    assert response.status_code == 200
    kept = parse_envelope(bytes(RawEnvelope.objects.get().body))
    assert [(i.type, i.headers.get("filename")) for i in kept.items] == [
        ("event", None),
        ("attachment", "small"),
    ]


def test_a_duplicate_event_id_is_answered_but_dropped(dsn):
    assert post(dsn, envelope_bytes()).status_code == 200
    again = post(dsn, envelope_bytes(message="second copy"))
    assert again.status_code == 200 and again.json() == {"id": EVENT_ID}
    assert RawEnvelope.objects.count() == 1
    other = post(dsn, envelope_bytes(event_id="a" * 32))
    assert other.status_code == 200 and RawEnvelope.objects.count() == 2


# --- Rate limits -------------------------------------------------------------------------------------------


def test_a_key_over_its_rate_limit_gets_429_with_the_headers_sdks_obey(dsn, one_rate_minute):
    from sentry_sdk.transport import _parse_rate_limits

    dsn.rate_limit = 3
    dsn.save()
    answers = [post(dsn, envelope_bytes(event_id=f"{n:032x}")) for n in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    limited = answers[-1]
    assert "rate limit of 3 envelopes a minute" in limited.json()["detail"]
    retry_after = int(limited["Retry-After"])
    assert 1 <= retry_after <= 60
    parsed = list(_parse_rate_limits(limited["X-Sentry-Rate-Limits"]))
    assert [category for category, _until in parsed] == [None]  # every category is limited
    assert "x-sentry-rate-limits" in limited["Access-Control-Expose-Headers"]
    assert RawEnvelope.objects.count() == 3


def test_rate_limits_are_per_key(dsn, service, one_rate_minute):
    dsn.rate_limit = 1
    dsn.save()
    other = Dsn.issue(service, rate_limit=1)
    assert post(dsn, envelope_bytes(event_id="1" * 32)).status_code == 200
    assert post(dsn, envelope_bytes(event_id="2" * 32)).status_code == 429
    assert post(other, envelope_bytes(event_id="3" * 32)).status_code == 200


def test_the_rate_window_starts_again_each_minute(dsn):
    dsn.rate_limit = 1
    dsn.window_minute, dsn.window_count = 1, 1  # a full window long past
    dsn.save()
    assert post(dsn, envelope_bytes()).status_code == 200


def test_a_body_larger_than_django_s_upload_limit_is_accepted(dsn, settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE < 3 * 1024 * 1024
    body = envelope_bytes(extra_items=[sdk_item("attachment", b"a" * (3 * 1024 * 1024), filename="log.txt")])
    response = post(dsn, body)
    assert response.status_code == 200, response.content
    assert parse_envelope(bytes(RawEnvelope.objects.get().body)).items[1].size == 3 * 1024 * 1024


def test_the_store_endpoint_takes_the_old_sdks_base64_zlib_bodies(dsn):
    import base64

    event = {"event_id": EVENT_ID, "message": "from raven"}
    response = post(dsn, base64.b64encode(zlib.compress(json.dumps(event).encode())), endpoint="store")
    assert response.status_code == 200 and response.json() == {"id": EVENT_ID}
    assert parse_envelope(bytes(RawEnvelope.objects.get().body)).items[0].json() == event


def test_a_store_body_that_is_neither_json_nor_base64_gets_a_400(dsn):
    response = post(dsn, b"not json, not base64!", endpoint="store")
    assert response.status_code == 400 and "base64" in response.json()["detail"]


def test_a_base64_zlib_bomb_on_store_gets_a_413(dsn, settings):
    import base64

    settings.ERRORS_MAX_DECOMPRESSED = 1024 * 1024
    bomb = base64.b64encode(zlib.compress(b'{"a":"' + b"x" * (20 * 1024 * 1024) + b'"}'))
    response = post(dsn, bomb, endpoint="store")
    assert response.status_code == 413 and "once decompressed" in response.json()["detail"]


@pytest.mark.parametrize(
    "header",
    [
        "Sentry sentry_version=7",  # no key
        "Sentry " + "x" * 100_000,
        "Sentry sentry_key=" + "f" * 10_000,
        "Bearer something",
        "Sentry sentry_key=\u00e9\u00e9",
    ],
)
def test_hostile_auth_headers_get_401(dsn, header):
    response = Client().post(
        f"/api/{dsn.project_id}/envelope/",
        envelope_bytes(),
        content_type="text/plain",
        HTTP_X_SENTRY_AUTH=header,
    )
    assert response.status_code == 401, response.content
    assert response.json()["detail"]


@pytest.mark.parametrize("dsn_value", [42, "not a url", "http://[::1/1", "http://@h/1", "x" * 5000, None])
def test_a_useless_envelope_dsn_header_gets_401(dsn, dsn_value):
    body = json.dumps({"dsn": dsn_value}).encode() + b'\n{"type":"event"}\n{}'
    response = Client().post(f"/api/{dsn.project_id}/envelope/", body, content_type="text/plain")
    assert response.status_code == 401 and "No DSN key" in response.json()["detail"]


def test_a_huge_project_id_is_refused_not_a_crash(dsn):
    response = Client().post(
        "/api/99999999999999999999999999999/envelope/",
        envelope_bytes(),
        content_type="text/plain",
        **auth(dsn.public_key),
    )
    assert response.status_code == 403 and "does not belong" in response.json()["detail"]


def test_a_content_length_that_is_not_a_number_gets_400(dsn):
    response = Client().post(
        f"/api/{dsn.project_id}/envelope/",
        envelope_bytes(),
        content_type="text/plain",
        CONTENT_LENGTH="lots",
        **auth(dsn.public_key),
    )
    assert response.status_code == 400 and "not a number" in response.json()["detail"]


def test_a_group_commit_spools_a_batch_once_per_event_and_counts_each_envelope_against_the_rate(
    service, django_capture_on_commit_callbacks, one_rate_minute
):
    from keepwell.errors import ingest

    open_key = Dsn.issue(service, label="open", rate_limit=0)
    limited = Dsn.issue(service, label="limited", rate_limit=2)
    spooled_before = "0" * 31 + "1"
    assert post(open_key, envelope_bytes(spooled_before)).status_code == 200
    enqueued = []

    def pending(key, event_id):
        checked = ingest.check(key.project_id, "envelope", envelope_bytes(event_id), key.public_key)
        assert isinstance(checked, ingest.Pending)
        return checked

    ids = ["a" * 32, "b" * 32, "c" * 32, "d" * 32]
    batch = [
        pending(open_key, ids[0]),
        pending(open_key, ids[0]),  # a second copy in the same batch
        pending(open_key, spooled_before),  # already in the spool
        pending(limited, ids[1]),
        pending(limited, ids[2]),
        pending(limited, ids[3]),  # the third of a key allowed two a minute
    ]
    with django_capture_on_commit_callbacks(execute=True):
        results = ingest.spool_batch(batch, enqueued.append)
    assert [r.status for r in results[:5]] == [200] * 5
    assert isinstance(results[5], ingest.Refused) and results[5].answer.status == 429
    rows = list(RawEnvelope.objects.order_by("id").values_list("id", "event_id"))
    assert sorted(event_id for _, event_id in rows) == sorted([spooled_before, *ids[:3]])
    assert enqueued == [rows[-1][0]], "one hand-over per batch, with its highest spool id"
