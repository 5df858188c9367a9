"""Random and mutated input: the envelope parser and the body decoder fail only with their own clear errors."""

import gzip
import zlib

import brotli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sentry_sdk.envelope import Envelope as SdkEnvelope

from keepwell.errors.envelope import EnvelopeError, parse_envelope
from keepwell.errors.ingest_body import BodyDecoder, BodyTooLarge, BodyUnreadable

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sdk_envelope() -> bytes:
    envelope = SdkEnvelope(headers={"event_id": "a" * 32})
    envelope.add_event({"event_id": "a" * 32, "message": "x", "extra": {"a": [1, {"b": None}]}})
    envelope.add_session({"sid": "s", "status": "ok"})
    return envelope.serialize()


VALID = sdk_envelope()


def parse_everything(data: bytes) -> None:
    try:
        envelope = parse_envelope(data, max_items=20)
    except EnvelopeError as exc:
        assert str(exc)
        return
    for item in envelope.items:
        try:
            item.json()
        except EnvelopeError as exc:
            assert str(exc)


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes_parse_or_fail_with_an_envelope_error(data):
    parse_everything(data)


@FUZZ
@given(st.integers(0, len(VALID)), st.binary(min_size=0, max_size=20), st.integers(0, 20))
def test_a_mutated_sdk_envelope_parses_or_fails_with_an_envelope_error(at, insert, cut):
    parse_everything(VALID[:at] + insert + VALID[at + cut :])


@FUZZ
@given(st.sampled_from(["gzip", "deflate", "br"]), st.binary(max_size=2000), st.integers(1, 64))
def test_random_compressed_bodies_fail_only_with_the_decoder_s_errors(encoding, data, chunk):
    decoder = BodyDecoder(encoding, 10_000, 10_000)
    try:
        for i in range(0, len(data), chunk):
            decoder.feed(data[i : i + chunk])
        decoder.finish()
    except (BodyTooLarge, BodyUnreadable) as exc:
        assert str(exc)


COMPRESS = {"gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress}


@FUZZ
@given(st.sampled_from(sorted(COMPRESS)), st.binary(max_size=5000), st.integers(1, 97))
def test_compressed_bodies_come_back_whole_in_any_chunking(encoding, data, chunk):
    compressed = COMPRESS[encoding](data)
    decoder = BodyDecoder(encoding, 1_000_000, 1_000_000)
    for i in range(0, len(compressed), chunk):
        decoder.feed(compressed[i : i + chunk])
    assert decoder.finish() == data


@FUZZ
@given(st.sampled_from(sorted(COMPRESS)), st.integers(0, 3000), st.integers(1, 97))
def test_the_decompressed_cap_is_exact(encoding, size, chunk):
    compressed = COMPRESS[encoding](b"z" * size)
    decoder = BodyDecoder(encoding, 1_000_000, 1000)
    try:
        for i in range(0, len(compressed), chunk):
            decoder.feed(compressed[i : i + chunk])
        assert len(decoder.finish()) == size <= 1000
    except BodyTooLarge:
        assert size > 1000
