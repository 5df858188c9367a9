"""Fixtures for the hub-side tests: a fake registry the settings point at, and a service with a repository."""

import pytest
from deps_project import build_registry, write_project
from deps_registry_server import start


@pytest.fixture
def registry(settings, tmp_path):
    reg, stop = start(build_registry())
    settings.ALLOW_PRIVATE_TARGETS = True
    settings.DEPS_PYPI_URL = reg.url
    settings.DEPS_NPM_URL = reg.url + "/npm"
    settings.DEPS_EOL_URL = ""  # the shipped snapshot: tests talk to loopback only
    settings.DEPS_CACHE_DIR = tmp_path / "deps-cache"
    settings.DEPS_RUN_TESTS = True  # off by default; these tests play the operator who allowed it
    yield reg
    stop()


@pytest.fixture
def repo_service(service, tmp_path, registry):
    service.repository = str(write_project(tmp_path / "shop-repo"))
    service.save()
    return service
