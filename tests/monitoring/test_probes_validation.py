"""Validation of monitor settings and the JSON-path parser: malformed, huge and hostile input (no database)."""

import pytest

from keepwell.monitoring.probes import validate
from keepwell.monitoring.probes_http import follow_json_path, parse_json_path, status_accepted


def refused(kind, target, config=None) -> str:
    with pytest.raises(ValueError) as info:
        validate(kind, target, config)
    return str(info.value)


def test_it_cleans_an_http_monitor_with_defaults():
    target, config = validate("http", " https://shop.example.com/health ", {"method": "post"})
    assert target == "https://shop.example.com/health"
    assert config == {"method": "POST", "follow_redirects": True}


def test_it_refuses_unknown_kinds_and_options():
    assert "kind must be one of http, tcp, dns, tls" in refused("ftp", "x")
    assert "unknown option colour for a http check" in refused("http", "https://a.example", {"colour": 1})
    assert "unknown option keyword for a tcp check" in refused("tcp", "a.example:1", {"keyword": "x"})


def test_it_refuses_malformed_urls_and_targets():
    assert "must start with http:// or https://" in refused("http", "ftp://a.example/")
    assert "not a valid URL" in refused("http", "http://a.example:99999/")
    assert "not a valid host name" in refused("http", "http://ex!ample.com/")
    assert "target is empty" in refused("http", "   ")
    assert "has no port" in refused("tcp", "db.example.com")
    assert "port must be a number from 1 to 65535" in refused("tcp", "db.example.com:0")
    assert "IPv6 address in brackets" in refused("tcp", "2001:db8::1:5432")
    assert validate("tcp", "[2001:db8::1]:5432", {})[0] == "[2001:db8::1]:5432"
    assert "not a URL" in refused("tls", "https://shop.example.com")
    assert validate("tls", "shop.example.com", {})[0] == "shop.example.com:443"


def test_it_refuses_huge_and_hostile_input():
    assert "at most 2000 characters" in refused("http", "https://a.example/" + "a" * 3000)
    assert "without spaces or control characters" in refused("http", "https://a.example/\r\nHost: evil")
    assert "at most 100 KB" in refused("http", "https://a.example/", {"body": "x" * 200_000})
    assert "NUL" in refused("http", "https://a.example/", {"keyword": "a\x00b"})
    assert "not valid" in refused("http", "https://a.example/", {"headers": {"Bad Name": "x"}})
    assert "one line" in refused("http", "https://a.example/", {"headers": {"X-A": "1\r\nX-B: 2"}})
    assert "at most 50" in refused(
        "http", "https://a.example/", {"headers": {f"X-{i}": "v" for i in range(60)}}
    )
    assert "config must be a JSON object" in refused("http", "https://a.example/", ["not", "an", "object"])
    assert "not a valid host name" in refused("dns", "a" * 70 + ".example")


def test_it_checks_the_types_of_options():
    assert "method must be one of" in refused("http", "https://a.example/", {"method": "BREW"})
    assert "is not a status code" in refused("http", "https://a.example/", {"expected_statuses": [99]})
    assert "is not a status code" in refused("http", "https://a.example/", {"expected_statuses": ["2yy"]})
    assert "is not a status code" in refused("http", "https://a.example/", {"expected_statuses": [True]})
    assert "true or false" in refused("http", "https://a.example/", {"follow_redirects": "yes"})
    assert "from 1 to 600000" in refused("http", "https://a.example/", {"max_response_ms": -5})
    assert "needs a json_path" in refused("http", "https://a.example/", {"json_expected": "ok"})
    assert "record_type must be one of" in refused("dns", "a.example", {"record_type": "BOGUS"})
    assert "nameserver must be an IP address" in refused("dns", "a.example", {"nameserver": "ns.example"})
    assert "from 0 to 3650" in refused("tls", "a.example", {"days_before_expiry": 10_000})


def test_it_parses_json_paths():
    assert parse_json_path("$.status") == ["status"]
    assert parse_json_path("data[0].ok") == ["data", 0, "ok"]
    assert parse_json_path('$["a key"][2]') == ["a key", 2]
    assert parse_json_path("$") == []


@pytest.mark.parametrize(
    "path", ["", "$..x", "$.a[", "a[-1]", "$.a[0]]", "$.a b", "__import__('os')", "$." * 200]
)
def test_it_refuses_malformed_json_paths(path):
    with pytest.raises(ValueError):
        parse_json_path(path)


def test_it_follows_json_paths_without_crashing_on_wrong_shapes():
    document = {"data": [{"ok": True}], "n": 3}
    assert follow_json_path(document, ["data", 0, "ok"]) is True
    missing = follow_json_path(document, ["data", 9, "ok"])
    assert missing is follow_json_path(document, ["n", "x"]) is follow_json_path(document, [0])


def test_it_matches_status_codes_exactly_by_class_and_by_range():
    assert status_accepted(302, []) and not status_accepted(404, [])
    assert status_accepted(204, [200, 204]) and not status_accepted(201, [200, 204])
    assert status_accepted(503, ["5xx"]) and status_accepted(301, ["300-308"])
    assert not status_accepted(309, ["300-308"])
