"""Keep-alive connection pools to the backends, and one request/response exchange on them.

Each backend has a LIFO pool of idle HTTP/1.1 connections (the warmest first). An exchange
writes a buffered request and reads the whole response with llhttp (httptools). A reused
connection that turns out dead before any response byte arrives is retried once on a fresh
connection, but only for safe methods: a write might already have been applied.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import deque

import httptools

from strangler_proxy.messages import HeaderList, Response

SAFE_RETRY = frozenset({"GET", "HEAD", "OPTIONS"})


class UpstreamError(Exception):
    """The backend could not be reached or did not answer properly."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "connect", "timeout", "protocol", "too_large", "closed"


class _Connection(asyncio.Protocol):
    """One upstream connection; one exchange at a time."""

    def __init__(self, max_body: int) -> None:
        self.transport: asyncio.Transport | None = None
        self._max_body = max_body
        self._parser = httptools.HttpResponseParser(self)
        self._result: asyncio.Future[Response] | None = None
        self._headers: HeaderList = []
        self._body: list[bytes] = []
        self._size = 0
        self._reason = b""
        self._head_only = False
        self.got_bytes = False
        self.reusable = False
        self.idle_since = 0.0
        self.uses = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's own class
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, data: bytes, *, head_only: bool) -> asyncio.Future[Response]:
        """Write a request; the future resolves with the complete response."""
        assert self.transport is not None
        self._result = asyncio.get_running_loop().create_future()
        self._headers, self._body, self._size = [], [], 0
        self._head_only, self.got_bytes, self.reusable = head_only, False, False
        self.transport.write(data)
        return self._result

    def data_received(self, data: bytes) -> None:
        if self._result is None or self._result.done():
            self.close()  # bytes nobody asked for: the connection is not trustworthy
            return
        self.got_bytes = True
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self._fail(UpstreamError("protocol", f"malformed response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self._result is not None and not self._result.done():
            self._fail(UpstreamError("closed", "the backend closed the connection"))

    # llhttp callbacks
    def on_status(self, reason: bytes) -> None:
        self._reason = reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self._head_only and self._parser.get_status_code() >= 200:
            self._finish()
            self._parser = httptools.HttpResponseParser(self)  # llhttp cannot skip a HEAD body

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self._max_body:
            self._fail(UpstreamError("too_large", "the response exceeds the proxy's limit"))
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._parser.get_status_code() < 200:  # an interim 1xx: the real one follows
            self._headers = []
            return
        self._finish()

    def _finish(self) -> None:
        if self._result is None or self._result.done():
            return
        self.reusable = self._parser.should_keep_alive()
        self._result.set_result(Response(self._parser.get_status_code(), self._reason,
                                         self._headers, b"".join(self._body)))

    def _fail(self, error: UpstreamError) -> None:
        if self._result is not None and not self._result.done():
            self._result.set_exception(error)
        self.close()

    def expire(self, error: UpstreamError) -> None:
        """Give up waiting for the response."""
        self._fail(error)

    def close(self) -> None:
        """Close the socket; the connection is never reused."""
        self.reusable = False
        if self.transport is not None:
            self.transport.close()


class Pool:
    """Idle keep-alive connections to one backend."""

    def __init__(self, name: str, host: str, port: int, *, connect_timeout: float = 1.0,
                 response_timeout: float = 30.0, max_idle: int = 64, idle_timeout: float = 1.0,
                 max_body: int = 16 * 1024 * 1024, max_uses: int = 100) -> None:
        self.name, self.host, self.port = name, host, port
        self.connect_timeout, self.response_timeout = connect_timeout, response_timeout
        self._max_idle, self._idle_timeout, self._max_body = max_idle, idle_timeout, max_body
        self._max_uses = max_uses
        self._idle: deque[_Connection] = deque()

    async def exchange(self, method: str, data: bytes) -> Response:
        """Send one buffered request and return the complete response.

        Raises :class:`UpstreamError` (``kind`` says what failed).
        """
        conn = self._take_idle()
        reused = conn is not None
        if conn is None:
            conn = await self._connect()
        try:
            return await self._round_trip(conn, method, data)
        except UpstreamError as exc:
            stale = reused and exc.kind == "closed" and not conn.got_bytes
            if not (stale and method in SAFE_RETRY):
                raise
        return await self._round_trip(await self._connect(), method, data)

    async def _round_trip(self, conn: _Connection, method: str, data: bytes) -> Response:
        # A timer on the future instead of asyncio.wait_for, which would wrap every request
        # in a task of its own: this is the hot path.
        result = conn.send(data, head_only=method == "HEAD")
        timer = asyncio.get_running_loop().call_later(
            self.response_timeout, conn.expire,
            UpstreamError("timeout", f"{self.name} did not answer within "
                          f"{self.response_timeout:g}s"))
        try:
            response = await result
        except BaseException:
            conn.close()
            raise
        finally:
            timer.cancel()
        self._release(conn)
        return response

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(loop.create_connection(  # only on a pool miss
                lambda: _Connection(self._max_body), self.host, self.port),
                self.connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise UpstreamError("connect", f"cannot connect to {self.name}: {exc}") from exc
        return conn

    def _take_idle(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if conn.transport is not None and not conn.transport.is_closing() and (
                    now - conn.idle_since < self._idle_timeout):
                return conn
            conn.close()
        return None

    def _release(self, conn: _Connection) -> None:
        conn.uses += 1
        # Recycling connections every 100 requests spreads them over a backend's workers again
        # (a pool can otherwise stick to one of them, as nginx's keepalive_requests prevents).
        if (conn.reusable and conn.transport is not None and len(self._idle) < self._max_idle
                and conn.uses < self._max_uses):
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.close()

    def close(self) -> None:
        """Close every idle connection."""
        while self._idle:
            self._idle.pop().close()
