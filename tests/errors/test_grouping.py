"""Grouping: events the real sentry-sdk builds, fingerprinted without a database (pure logic)."""

import hashlib
import json
from datetime import UTC, datetime

import sentry_sdk
from errors_sdk import capture

from keepwell.errors import grouping
from keepwell.errors.envelope import parse_envelope
from keepwell.errors.normalize import normalize

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def events(func, **options) -> list[dict]:
    """Run `func` under the real SDK; return the normalized events it sent."""
    out = []
    for body in capture(func, **options):
        for item in parse_envelope(body).items:
            if item.type == "event":
                out.append(normalize(item.json(), NOW))
    return out


def glitchtip(event: dict, raw_transaction: str = "") -> str:
    """GlitchTip's grouping: md5(title + culprit), its culprit being the transaction when the SDK sets one."""
    culprit = raw_transaction or event["culprit"]
    return hashlib.md5((event["title"] + culprit).encode()).hexdigest()


def load_order(order_id, which):
    """Fail in one of two places of the same function (two lines), like a bug reached by two paths."""
    if which == "first":
        raise KeyError(f"order-{order_id}")
    raise KeyError(f"order-{order_id}")


def charge(amount):
    raise ValueError("card declined")


def refund(amount):
    raise ValueError("card declined")


def captured(func, *args):
    try:
        func(*args)
    except Exception:
        sentry_sdk.capture_exception()


def test_it_groups_one_bug_raised_from_different_lines_of_one_function():
    found = events(lambda: [captured(load_order, 1, "first"), captured(load_order, 2, "second")])
    assert len(found) == 2
    lines = [e["exceptions"][-1]["frames"][-1]["lineno"] for e in found]
    assert lines[0] != lines[1]
    assert grouping.fingerprint(found[0]) == grouping.fingerprint(found[1])


def test_it_groups_values_with_different_ids_where_glitchtip_splits_them():
    found = events(lambda: [captured(load_order, 41, "first"), captured(load_order, 42, "first")])
    assert [e["title"] for e in found] == ["KeyError: 'order-41'", "KeyError: 'order-42'"]
    assert grouping.fingerprint(found[0]) == grouping.fingerprint(found[1])
    assert glitchtip(found[0]) != glitchtip(found[1]), "GlitchTip makes a group per order id"


def test_it_splits_different_exception_types():
    def run():
        captured(load_order, 1, "first")
        captured(charge, 10)

    found = events(run)
    assert grouping.fingerprint(found[0]) != grouping.fingerprint(found[1])


def test_it_splits_two_bugs_with_one_message_in_one_request_where_glitchtip_merges_them():
    def run():
        sentry_sdk.get_current_scope().set_transaction_name("/checkout")
        captured(charge, 10)
        captured(refund, 10)

    found = events(run)
    assert [e["transaction"] for e in found] == ["/checkout", "/checkout"]
    assert grouping.fingerprint(found[0]) != grouping.fingerprint(found[1])
    assert glitchtip(found[0], "/checkout") == glitchtip(found[1], "/checkout"), "GlitchTip merges them"


def test_it_groups_messages_that_differ_only_in_numbers_ids_and_hex():
    def run():
        sentry_sdk.capture_message("User 42 failed to sign in from 10.0.0.7 (session 3f9a1c7b2e)")
        sentry_sdk.capture_message("User 1337 failed to sign in from 192.168.1.20 (session 9b8c7d6e5f4a)")
        sentry_sdk.capture_message("Order 0x1F2E of 6f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f was lost")
        sentry_sdk.capture_message("Order 0xAB of 00000000-1111-4222-8333-444455556666 was lost")
        sentry_sdk.capture_message("Payment provider is down")

    found = events(run)
    prints = [grouping.fingerprint(e) for e in found]
    assert prints[0] == prints[1]
    assert prints[2] == prints[3]
    assert len(set(prints)) == 3
    assert glitchtip(found[0]) != glitchtip(found[1]), "GlitchTip splits them by the numbers"


def test_the_sdk_fingerprint_wins_and_expands_default():
    def run():
        with sentry_sdk.new_scope() as scope:
            scope.fingerprint = ["payments", "provider-timeout"]
            captured(charge, 1)
        with sentry_sdk.new_scope() as scope:
            scope.fingerprint = ["payments", "provider-timeout"]
            captured(load_order, 1, "first")
        with sentry_sdk.new_scope() as scope:
            scope.fingerprint = ["{{ default }}", "eu-west"]
            captured(charge, 1)
        with sentry_sdk.new_scope() as scope:
            scope.fingerprint = ["{{default}}", "us-east"]
            captured(charge, 1)
        captured(charge, 1)

    found = events(run)
    prints = [grouping.fingerprint(e) for e in found]
    assert prints[0] == prints[1], "one custom fingerprint: one group, whatever the exception"
    assert prints[2] != prints[3], "the default plus a region: one group per region"
    assert len({prints[0], prints[2], prints[4]}) == 3
    assert grouping.components(found[2])[: len(grouping.default_components(found[4]))] == (
        grouping.default_components(found[4])
    )


def test_it_ignores_line_numbers_but_not_functions_in_node_style_frames():
    def event(function, line, filename="app:///dist/main.3f9a1c2b.js"):
        return {
            "exceptions": [
                {
                    "type": "TypeError",
                    "value": "x is undefined",
                    "frames": [
                        {"filename": "node:internal/timers", "function": "listOnTimeout", "in_app": False},
                        {"filename": filename, "function": function, "lineno": line, "in_app": True},
                    ],
                }
            ]
        }

    assert grouping.fingerprint(event("render", 10)) == grouping.fingerprint(event("render", 99))
    assert grouping.fingerprint(event("render", 10)) == grouping.fingerprint(
        event("render", 10, "app:///dist/main.77aa01bc.js?v=2")
    ), "a new build's content hash does not split a group"
    assert grouping.fingerprint(event("render", 10)) != grouping.fingerprint(event("submit", 10))


def test_it_fingerprints_hostile_and_empty_events():
    empty = normalize({}, NOW)
    assert len(grouping.fingerprint(empty)) == 32
    hostile = normalize(
        {
            "exception": {"values": [{"type": ["not", "a", "string"], "stacktrace": {"frames": "nope"}}, 5]},
            "fingerprint": [{"a": 1}, None, "{{ default }}"],
            "message": {"formatted": 7},
        },
        NOW,
    )
    assert len(grouping.fingerprint(hostile)) == 32
    huge = normalize({"message": "x" * 5_000_000, "exception": {"values": [{"type": "E" * 100_000}]}}, NOW)
    assert len(json.dumps(grouping.components(huge))) < 5000
    deep = {
        "type": "E",
        "stacktrace": {"frames": [{"function": f"f{i}", "in_app": True} for i in range(10_000)]},
    }
    assert (
        len(grouping.components(normalize({"exception": {"values": [deep]}}, NOW))) <= grouping.MAX_FRAMES + 1
    )


def test_a_message_with_a_synthetic_stack_trace_is_titled_and_grouped_as_the_message():
    """@sentry/node attaches a stack trace to captureMessage as an exception marked synthetic."""

    def node_message(text, line):
        return normalize(
            {
                "message": text,
                "exception": {
                    "values": [
                        {
                            "value": text,
                            "mechanism": {"type": "generic", "synthetic": True},
                            "stacktrace": {
                                "frames": [
                                    {
                                        "filename": "/app/q.mjs",
                                        "function": "?",
                                        "lineno": line,
                                        "in_app": True,
                                    }
                                ]
                            },
                        }
                    ]
                },
            },
            NOW,
        )

    first, second = node_message("Queue 17 is 9000 behind", 3), node_message("Queue 4 is 12 behind", 9)
    assert first["title"] == "Queue 17 is 9000 behind"
    assert grouping.fingerprint(first) == grouping.fingerprint(second)
    assert grouping.fingerprint(first) != grouping.fingerprint(node_message("Disk full", 3))
