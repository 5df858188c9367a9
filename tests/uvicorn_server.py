"""An ASGI application of keepwell's under uvicorn in a thread on loopback, as `keepwell serve` runs it, for
the live tests.

Test modules in any folder under tests/ import it by name (`from uvicorn_server import UvicornServer`):
pytest's default (prepend) import mode puts tests/, the folder of the top conftest.py, on sys.path."""

import socket
import threading
import time
from collections.abc import Callable

import uvicorn


class UvicornServer:
    """Serve `app` on 127.0.0.1 at a free port until `stop()`, which then calls `close` (if given).

    `options` go to uvicorn.Config, over its lifespan off (Django does not speak it) and warnings-only logs."""

    def __init__(self, app, close: Callable[[], object] | None = None, **options):
        self.app = app
        self.close = close
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        options = {"lifespan": "off", "log_level": "warning", **options}
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, **options)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(5)
        if self.close is not None:
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()
