"""A provider's WSGI app on a real loopback socket, in a thread, for the verifier to call."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

HOST = "127.0.0.1"
"""The verifier's host must equal the transport URL's host (pact-python checks it)."""


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """The verifier's own report says what was asked; no access log on top."""


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve ``app`` on a free port until the block ends; yields its base URL."""
    server = make_server(HOST, 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="contract-provider", daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
