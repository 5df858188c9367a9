import json

import httpx
from django.core.mail import send_mail


def test_the_smtp_fixture_receives_real_mail(smtp_server):
    send_mail("Hello", "Body text", "hub@example.org", ["ops@example.org"])
    assert smtp_server[0]["Subject"] == "Hello"
    assert smtp_server[0].envelope_to == ["ops@example.org"]


def test_the_webhook_fixture_records_posts(webhook_receiver):
    httpx.post(webhook_receiver.url, json={"a": 1})
    assert webhook_receiver.json() == [{"a": 1}]
    assert json.loads(webhook_receiver.requests[0]["body"]) == {"a": 1}
