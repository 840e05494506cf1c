"""Small real HTTP backends for proxy tests, and the data plane running on a real socket."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import Flask, Response, request
from werkzeug.serving import BaseWSGIServer, make_server

from strangler_proxy.backends import Backend
from strangler_proxy.worker import DataPlane, DataPlaneSettings, bind
from tests.support.processes import free_port


@dataclass
class Upstream:
    """A backend that answers every path with JSON saying who it is and what it received."""

    name: str
    status: int = 200
    delay: float = 0.0
    body: dict[str, object] = field(default_factory=dict)
    seen: list[dict[str, object]] = field(default_factory=list)
    server: BaseWSGIServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}"

    def app(self) -> Flask:
        app = Flask(self.name)

        @app.route("/", defaults={"path": ""}, methods=["GET", "HEAD", "POST", "PUT", "PATCH",
                                                          "DELETE", "OPTIONS"])
        @app.route("/<path:path>", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
                                            "OPTIONS"])
        def anything(path: str) -> Response:
            self.seen.append({"method": request.method, "target": request.full_path,
                              "raw_uri": request.environ.get("RAW_URI") or request.environ.get(
                                  "REQUEST_URI"),
                              "headers": dict(request.headers),
                              "body": request.get_data(as_text=True)})
            if self.delay:
                time.sleep(self.delay)
            payload = {"backend": self.name, "path": "/" + path, **self.body}
            return Response(json.dumps(payload), status=self.status,
                            mimetype="application/json")

        return app


@contextmanager
def serving(upstream: Upstream) -> Iterator[Upstream]:
    """Serve ``upstream`` on a free loopback port in a thread."""
    upstream.server = make_server("127.0.0.1", 0, upstream.app(), threaded=True)
    thread = threading.Thread(target=upstream.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        upstream.server.shutdown()
        thread.join(5)


@contextmanager
def data_plane(database_url: str, backends: dict[str, str], *, tester_token: str | None = None,
               **settings: object) -> Iterator[tuple[str, DataPlane]]:
    """The proxy's data plane on a free port, in a thread with its own event loop."""
    plane = DataPlane(DataPlaneSettings(
        database_url=database_url, tester_token=tester_token,
        backends={name: Backend(name, url) for name, url in backends.items()},
        reload_every=0.05, **settings))  # type: ignore[arg-type]
    port = free_port()
    sock = bind("127.0.0.1", port, reuse_port=False)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(plane.serve(sock, stop),),
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", plane
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(15)
        loop.close()
        plane.engine.dispose()
