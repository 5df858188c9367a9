"""The outbound guard refuses loopback, private, link-local and reserved targets."""

import httpx
import pytest

from keepwell.core import netguard


@pytest.fixture(autouse=True)
def guarded(settings):
    settings.ALLOW_PRIVATE_TARGETS = False


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10:8080/",
        "http://172.16.5.4/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
        "http://2130706433/",  # 127.0.0.1 written as one number
        "http://localhost:8000/hook",  # a name that resolves to loopback
    ],
)
def test_it_refuses_private_targets(url):
    with pytest.raises(netguard.BlockedTarget, match="does not send requests there"):
        netguard.check_url(url)


def test_it_is_a_value_error_with_what_to_do():
    with pytest.raises(ValueError, match="KEEPWELL_ALLOW_PRIVATE_TARGETS=1"):
        netguard.check_url("http://127.0.0.1/")


def test_it_accepts_a_public_address():
    assert netguard.check_url("https://93.184.215.14/hook") == ["93.184.215.14"]


def test_it_refuses_other_schemes_and_broken_urls():
    with pytest.raises(netguard.BlockedTarget, match="Only http and https"):
        netguard.check_url("file:///etc/passwd")
    with pytest.raises(netguard.BlockedTarget, match="no host name"):
        netguard.check_url("http:///nohost")
    with pytest.raises(netguard.BlockedTarget, match="not valid"):
        netguard.check_url("http://example.com:99999/")


def test_it_explains_a_name_that_does_not_resolve():
    with pytest.raises(netguard.BlockedTarget, match="cannot be resolved"):
        netguard.check_url("http://no-such-host.invalid/hook")


def test_it_allows_private_targets_when_configured(settings):
    settings.ALLOW_PRIVATE_TARGETS = True
    assert "127.0.0.1" in netguard.check_url("http://localhost/")


def test_it_posts_to_the_address_it_checked(settings, webhook_receiver):
    # The receiver is on loopback, so allow it; the request goes to the resolved address with the Host kept.
    port = webhook_receiver.url.split(":")[2].split("/")[0]
    with httpx.Client() as client:
        response = netguard.pinned_post(client, f"http://localhost:{port}/hook?x=1", content=b"{}")
    assert response.status_code == 200
    request = webhook_receiver.requests[0]
    assert request["path"] == "/hook?x=1"
    assert request["headers"]["Host"] == f"localhost:{port}"


def test_it_refuses_to_post_to_a_private_target():
    with httpx.Client() as client, pytest.raises(netguard.BlockedTarget):
        netguard.pinned_post(client, "http://127.0.0.1:9/hook", content=b"{}")
