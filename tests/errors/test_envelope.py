"""The envelope framing parser: items with and without lengths, and every way an envelope can be broken."""

import json

import pytest
from sentry_sdk.envelope import Envelope as SdkEnvelope

from keepwell.errors.envelope import (
    EnvelopeError,
    event_to_envelope,
    loads,
    normalize_event_id,
    parse_envelope,
)

EVENT_ID = "9ec79c33ec9942ab8353589fcb2e04dc"


def test_it_parses_an_envelope_the_sentry_sdk_serializes():
    sdk = SdkEnvelope(headers={"event_id": EVENT_ID, "dsn": "http://k@h/1"})
    sdk.add_event({"event_id": EVENT_ID, "message": "boom", "level": "error"})
    sdk.add_session({"sid": "abc", "status": "ok", "init": True, "attrs": {"release": "1.0"}})
    envelope = parse_envelope(sdk.serialize())
    assert envelope.headers["dsn"] == "http://k@h/1"
    assert envelope.event_id == EVENT_ID
    assert [item.type for item in envelope.items] == ["event", "session"]
    assert envelope.items[0].json()["message"] == "boom"


def test_it_reads_items_with_explicit_lengths_even_when_payloads_hold_newlines():
    payload = b"line one\nline two\n"
    data = (
        b'{"event_id":"%s"}\n{"type":"attachment","length":%d,"filename":"a.txt"}\n%s\n{"type":"event"}\n{}'
        % (
            EVENT_ID.encode(),
            len(payload),
            payload,
        )
    )
    envelope = parse_envelope(data)
    assert envelope.items[0].payload == payload
    assert envelope.items[0].headers["filename"] == "a.txt"
    assert envelope.items[1].type == "event" and envelope.items[1].json() == {}


def test_it_reads_items_without_length_up_to_the_newline_and_tolerates_blank_lines():
    data = b'{}\n{"type":"event"}\n{"a":1}\n\n{"type":"client_report"}\n{"discarded_events":[]}\n'
    envelope = parse_envelope(data)
    assert [i.type for i in envelope.items] == ["event", "client_report"]
    assert envelope.items[0].json() == {"a": 1}
    assert envelope.event_id is None


def test_an_empty_header_line_counts_as_no_headers():
    assert parse_envelope(b'\n{"type":"event"}\n{}').headers == {}


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"not json\n", "envelope header is not valid JSON"),
        (b"[1,2]\n", "must be a JSON object"),
        (b'{}\n{"length":2}\n{}', 'no "type"'),
        (b'{}\n{"type":""}\n{}', 'no "type"'),
        (b'{}\n{"type":"event","length":100}\n{}', "declares 100 bytes but only 2 follow"),
        (b'{}\n{"type":"event","length":1}\n{}', "not followed by a newline"),
        (b'{}\n{"type":"event","length":-1}\n{}', "invalid length -1"),
        (b'{}\n{"type":"event","length":"2"}\n{}', "invalid length '2'"),
        (b'{}\n{"type":"event","length":true}\n{}', "invalid length True"),
        (b'{}\n{"type":"event"\n{}', "header of item 1 is not valid JSON"),
        (b'{}\n{"type":"event"}\n\xff\xfe', None),  # framing is fine; the payload is checked by json()
    ],
)
def test_it_refuses_broken_framing_with_a_message(data, message):
    if message is None:
        envelope = parse_envelope(data)
        with pytest.raises(EnvelopeError, match="not valid"):
            envelope.items[0].json()
        return
    with pytest.raises(EnvelopeError, match=message):
        parse_envelope(data)


def test_a_truncated_sdk_envelope_is_refused_at_every_cut_inside_a_sized_item():
    sdk = SdkEnvelope(headers={"event_id": EVENT_ID})
    sdk.add_event({"event_id": EVENT_ID, "message": "x" * 50})
    data = sdk.serialize()
    header_end = data.index(b"\n", data.index(b"\n") + 1) + 1
    for cut in range(header_end, len(data) - 1):
        with pytest.raises(EnvelopeError, match="truncated"):
            parse_envelope(data[:cut])


def test_it_refuses_too_many_items():
    data = b"{}\n" + b'{"type":"session"}\n{}\n' * 11
    with pytest.raises(EnvelopeError, match="more than 10 items"):
        parse_envelope(data, max_items=10)
    assert len(parse_envelope(data, max_items=11).items) == 11


def test_it_refuses_a_huge_header_line():
    data = b'{"x":"' + b"a" * 70_000 + b'"}\n'
    with pytest.raises(EnvelopeError, match="at most 65536"):
        parse_envelope(data)


def test_deep_nesting_is_refused_before_the_parser_recurses():
    for depth in (129, 10_000, 1_000_000):
        with pytest.raises(EnvelopeError, match=f"nested {depth} levels deep"):
            loads(b"[" * depth + b"]" * depth)
    deep_item = b'{}\n{"type":"event"}\n' + b'{"a":' * 5000 + b"1" + b"}" * 5000
    with pytest.raises(EnvelopeError, match="nested 5000 levels"):
        parse_envelope(deep_item).items[0].json()
    with pytest.raises(EnvelopeError, match="nested"):
        parse_envelope(b"[" * 60_000 + b"\n")


def test_nesting_at_the_limit_parses_and_brackets_inside_strings_do_not_count():
    assert loads(b"[" * 128 + b"]" * 128) is not None
    text = json.dumps({"message": "[[[[{{{{" * 1000 + '\\"]]'}).encode()
    assert loads(text, max_depth=1)["message"].startswith("[[[[")


def test_unterminated_strings_cannot_hide_nesting():
    with pytest.raises(EnvelopeError):
        loads(b'["' + b"[" * 10_000)


def test_megabytes_of_brackets_are_refused_with_a_message_not_a_crash():
    with pytest.raises(EnvelopeError, match="nested 6000000 levels deep"):
        loads(b"[" * 6_000_000)
    with pytest.raises(EnvelopeError, match="nested 3 levels deep"):
        loads(b"[" + b"[[]]," * 1_000_000 + b"[]]", max_depth=2)


def test_huge_integers_are_invalid_json_not_a_crash():
    with pytest.raises(EnvelopeError, match="not valid JSON"):
        loads(b"1" * 10_000)


def test_event_to_envelope_wraps_a_store_body_for_the_spool():
    event = {"event_id": EVENT_ID.upper(), "message": "hi"}
    data = event_to_envelope(json.dumps(event).encode(), dsn="http://k@h/1")
    envelope = parse_envelope(data)
    assert envelope.headers == {"event_id": EVENT_ID, "dsn": "http://k@h/1"}
    assert envelope.items[0].type == "event" and envelope.items[0].json() == event
    transaction = parse_envelope(event_to_envelope({"type": "transaction", "spans": []}))
    assert transaction.items[0].type == "transaction" and transaction.event_id is None


def test_event_to_envelope_refuses_what_is_not_an_event():
    with pytest.raises(EnvelopeError, match="not valid JSON"):
        event_to_envelope(b"{nope")
    with pytest.raises(EnvelopeError, match="must be a JSON object"):
        event_to_envelope(b"[1]")


def test_event_ids_are_normalized():
    assert normalize_event_id("9EC79C33-EC99-42AB-8353-589FCB2E04DC") == EVENT_ID
    assert normalize_event_id("nope") is None and normalize_event_id(42) is None
