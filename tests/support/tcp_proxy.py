"""A TCP proxy a test can cut, to break a client's connection without touching the server."""

from __future__ import annotations

import socket
import struct
import threading
from contextlib import suppress


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to ``target``; :meth:`cut` drops every open connection."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._refusing = False
        self._closed = False
        self.connections = 0
        self.refused = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self._refusing:
                self.refused += 1
                client.close()
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
                self.connections += 1
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut(self, *, refuse: bool = False) -> None:
        """Reset every open connection; with ``refuse``, also turn new ones away."""
        self._refusing = refuse
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with suppress(OSError):
                # linger 0: close with a reset, the way a dead network path looks
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()

    def restore(self) -> None:
        """Accept connections again."""
        self._refusing = False

    def close(self) -> None:
        """Stop the proxy."""
        self._closed = True
        self.cut()
        self._server.close()
