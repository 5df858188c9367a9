"""Shared fixtures: alice owns acme, bob is a member of acme, charlie owns another organization."""

import pytest
from django.test import Client

from keepwell.core.models import ApiToken, Membership, Organization, Role, Service, User


@pytest.fixture
def acme(db):
    return Organization.objects.create(slug="acme", name="Acme")


@pytest.fixture
def other_org(db):
    return Organization.objects.create(slug="globex", name="Globex")


def _member(org, email, role):
    user = User.objects.create_user(email, "correct horse battery staple")
    Membership.objects.create(organization=org, user=user, role=role)
    return user


@pytest.fixture
def alice(acme):
    return _member(acme, "alice@example.org", Role.OWNER)


@pytest.fixture
def bob(acme):
    return _member(acme, "bob@example.org", Role.MEMBER)


@pytest.fixture
def victor(acme):
    """A viewer of acme."""
    return _member(acme, "victor@example.org", Role.VIEWER)


@pytest.fixture
def charlie(other_org):
    return _member(other_org, "charlie@example.org", Role.OWNER)


@pytest.fixture
def service(acme):
    return Service.objects.create(organization=acme, name="Shop API", slug="shop-api")


@pytest.fixture
def alice_client(alice):
    c = Client()
    c.force_login(alice)
    return c


@pytest.fixture
def charlie_client(charlie):
    c = Client()
    c.force_login(charlie)
    return c


class ApiClient:
    """A test client that sends a Bearer token and JSON."""

    def __init__(self, token):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def _send(self, method, path, data=None, **extra):
        kwargs = {"headers": {**self.headers, **extra.pop("headers", {})}, **extra}
        if data is not None and "content_type" not in kwargs and method != "get":
            kwargs["content_type"] = "application/json"
        return getattr(self.client, method)(path, data, **kwargs) if data is not None else getattr(
            self.client, method
        )(path, **kwargs)

    def get(self, path, data=None, **extra):
        return self._send("get", path, data, **extra)

    def post(self, path, data=None, **extra):
        return self._send("post", path, data, **extra)

    def patch(self, path, data=None, **extra):
        return self._send("patch", path, data, **extra)

    def put(self, path, data=None, **extra):
        return self._send("put", path, data, **extra)

    def delete(self, path, data=None, **extra):
        return self._send("delete", path, data, **extra)


@pytest.fixture
def alice_api(alice, acme):
    _, token = ApiToken.issue(acme, alice, write=True)
    return ApiClient(token)


@pytest.fixture
def alice_api_readonly(alice, acme):
    _, token = ApiToken.issue(acme, alice, write=False)
    return ApiClient(token)


@pytest.fixture
def charlie_api(charlie, other_org):
    _, token = ApiToken.issue(other_org, charlie, write=True)
    return ApiClient(token)
