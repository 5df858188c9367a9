"""`keepwell security osv update` and the scheduled refresh: download exports from a real HTTP server."""

import hashlib
import json
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from osv_data import NPM_ADVISORIES

from keepwell.cli import main
from keepwell.security.osv import Database
from keepwell.security.osv_sync import update
from keepwell.security.scan import index_path


class ExportServer:
    """Serves /<ecosystem>/all.zip with an ETag, answering 304 to If-None-Match; counts the requests."""

    def __init__(self, exports: dict[str, bytes]):
        self.exports = exports
        self.requests: list[tuple[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append((self.path, self.headers.get("If-None-Match", "")))
                if self.path == "/moved/npm/all.zip":
                    self.send_response(302)
                    self.send_header("Location", "/npm/all.zip")
                    self.end_headers()
                    return
                ecosystem = self.path.strip("/").split("/")[0]
                body = server.exports.get(ecosystem)
                if body is None:
                    self.send_error(404)
                    return
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def zipped(tmp_path, name, source) -> bytes:
    """Return an export like OSV's: one JSON record per zip member."""
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for record in json.loads(source.read_text()):
            z.writestr(f"{record['id']}.json", json.dumps(record))
    return path.read_bytes()


@pytest.fixture
def server(tmp_path, settings):
    settings.ALLOW_PRIVATE_TARGETS = True
    srv = ExportServer({"npm": zipped(tmp_path, "npm.zip", NPM_ADVISORIES)})
    yield srv
    srv.close()


def test_update_downloads_builds_and_then_only_revalidates(tmp_path, server):
    data = tmp_path / "data"
    result = update(data_dir=data, url_template=server.url + "/{ecosystem}/all.zip", ecosystems=["npm"])
    assert result.downloaded == ["npm"] and result.stats.advisories == 11
    assert Database.open(index_path(data)).count() == 11
    built = index_path(data).stat().st_mtime_ns
    again = update(data_dir=data, url_template=server.url + "/{ecosystem}/all.zip", ecosystems=["npm"])
    assert again.unchanged == ["npm"] and again.stats is None
    assert server.requests[-1][1].startswith('"')  # a conditional request
    assert index_path(data).stat().st_mtime_ns == built


def test_a_failed_download_keeps_the_previous_database(tmp_path, server):
    data = tmp_path / "data"
    update(data_dir=data, url_template=server.url + "/{ecosystem}/all.zip", ecosystems=["npm"], force=True)
    server.exports["npm"] = b"<html>oops</html>"
    result = update(
        data_dir=data, url_template=server.url + "/{ecosystem}/all.zip", ecosystems=["npm"], force=True
    )
    assert "did not send a zip file" in result.failed["npm"]
    missing = update(data_dir=data, url_template=server.url + "/{ecosystem}/all.zip", ecosystems=["PyPI"])
    assert "HTTP 404" in missing.failed["PyPI"]
    assert Database.open(index_path(data)).count() == 11


def test_downloads_larger_than_the_limit_are_refused(tmp_path, server):
    result = update(
        data_dir=tmp_path / "d",
        url_template=server.url + "/{ecosystem}/all.zip",
        ecosystems=["npm"],
        max_bytes=100,
    )
    assert "larger than" in result.failed["npm"]
    assert not index_path(tmp_path / "d").exists()


def test_redirects_are_followed_and_checked(tmp_path, server):
    result = update(
        data_dir=tmp_path / "d", url_template=server.url + "/moved/{ecosystem}/all.zip", ecosystems=["npm"]
    )
    assert result.downloaded == ["npm"]


def test_private_addresses_are_refused_unless_allowed(tmp_path, server, settings):
    settings.ALLOW_PRIVATE_TARGETS = False
    result = update(
        data_dir=tmp_path / "d", url_template=server.url + "/{ecosystem}/all.zip", ecosystems=["npm"]
    )
    assert "loopback, private" in result.failed["npm"]


def test_the_command_reports_what_it_did(tmp_path, server, settings, capsys):
    settings.DATA_DIR = tmp_path / "data"
    settings.OSV_URL = server.url + "/{ecosystem}/all.zip"
    settings.OSV_ECOSYSTEMS = ("npm", "PyPI")
    code = main(["security", "osv", "update"])
    out, err = capsys.readouterr()
    assert code == 1  # PyPI is missing on this server
    assert "Downloaded: npm." in out and "11 advisories" in out
    assert "PyPI:" in err and "HTTP 404" in err


@pytest.mark.django_db
def test_the_scheduled_refresh_rebuilds_and_rescans(tmp_path, server, settings, service):
    from keepwell.security.models import VulnerabilityScan
    from keepwell.security.tasks import osv_refresh

    settings.DATA_DIR = tmp_path / "data"
    settings.OSV_URL = server.url + "/{ecosystem}/all.zip"
    settings.OSV_ECOSYSTEMS = ("npm",)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "requirements.txt").write_text("kw-safe==1.0\n")
    service.repository = str(repo)
    service.save()
    result = osv_refresh.call_local()
    assert result["rebuilt"] and result["downloaded"] == ["npm"]
    assert VulnerabilityScan.objects.filter(service=service, status="done").count() == 1


def test_a_bad_url_template_is_said(tmp_path):
    result = update(
        data_dir=tmp_path / "d", url_template="https://mirror.example/{eco}/all.zip", ecosystems=["npm"]
    )
    assert "not a valid template" in result.failed["npm"]


def test_a_second_updater_steps_aside_while_one_runs(tmp_path, server):
    import fcntl

    from keepwell.security.scan import osv_dir

    folder = osv_dir(tmp_path / "d")
    folder.mkdir(parents=True)
    with open(folder / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = update(
            data_dir=tmp_path / "d", url_template=server.url + "/{ecosystem}/all.zip", ecosystems=["npm"]
        )
        assert result.skipped_busy and not server.requests
    assert update(
        data_dir=tmp_path / "d", url_template=server.url + "/{ecosystem}/all.zip", ecosystems=["npm"]
    ).downloaded == ["npm"]
