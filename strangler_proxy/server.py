"""The public listener: parses client requests with llhttp and hands complete ones to a handler.

One request at a time per connection, in order (pipelined requests wait in a short queue).
Request bodies are buffered up to the limit -- which makes fallback and shadowing possible
without ever sending half a request upstream -- and framing is checked strictly, because a
proxy and a backend that disagree about where a request ends are how smuggling happens.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httptools

from strangler_proxy.messages import HeaderList, Request, Response, error_response
from strangler_proxy.paths import BadTarget, split_target

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Limits:
    """What a client may send."""

    max_head: int = 32 * 1024
    max_body: int = 1024 * 1024
    max_pipeline: int = 8
    head_timeout: float = 10.0
    idle_timeout: float = 75.0


LINGER_SECONDS = 2.0
"""How long a refused connection goes on draining the client's bytes before it closes."""


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class ClientConnection(asyncio.Protocol):
    """One client connection."""

    def __init__(self, handler: Handler, limits: Limits) -> None:
        self._handler = handler
        self._limits = limits
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._peer = ""
        self._queue: deque[Request] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._reset_message()
        self._closing = False
        self._timer: asyncio.TimerHandle | None = None

    # -- transport -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's own class
        peer = transport.get_extra_info("peername")
        self._peer = str(peer[0]) if peer else ""
        sock = transport.get_extra_info("socket")
        if sock is not None:  # one write per response: Nagle would only delay it
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._arm(self._limits.idle_timeout)

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        try:
            self._parser.feed_data(data)
        except _Refused as refused:
            self._refuse(refused.response)
        except httptools.HttpParserUpgrade:
            self._refuse(error_response(501, "upgrade_not_supported",
                                        "protocol upgrades are not proxied"))
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, _Refused):
                self._refuse(cause.response)
            else:
                self._refuse(error_response(400, "bad_request", "malformed request"))
        except httptools.HttpParserError as exc:
            self._refuse(error_response(400, "bad_request", f"malformed request: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._transport = None
        if self._timer is not None:
            self._timer.cancel()
        if self._worker is not None and not self._worker.done():
            self._worker.cancel()

    # -- llhttp callbacks ------------------------------------------------------------------

    def _reset_message(self) -> None:
        self._url = b""
        self._headers: HeaderList = []
        self._head_size = 0
        self._body: list[bytes] = []
        self._body_size = 0

    def on_message_begin(self) -> None:
        self._reset_message()
        self._arm(self._limits.head_timeout)

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._grow(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))
        self._grow(len(name) + len(value) + 4)

    def _grow(self, size: int) -> None:
        self._head_size += size
        if self._head_size > self._limits.max_head:
            raise _Refused(error_response(431, "headers_too_large",
                                          "the request head is too large"))

    def on_headers_complete(self) -> None:
        lengths = [v for n, v in self._headers if n.lower() == b"content-length"]
        encodings = [v for n, v in self._headers if n.lower() == b"transfer-encoding"]
        hosts = sum(1 for n, _ in self._headers if n.lower() == b"host")
        if lengths and encodings:
            raise _Refused(error_response(400, "ambiguous_framing",
                                          "Content-Length and Transfer-Encoding together"))
        if len(set(lengths)) > 1 or hosts > 1:
            raise _Refused(error_response(400, "ambiguous_framing",
                                          "conflicting Content-Length or Host headers"))
        if encodings and b",".join(encodings).strip().lower() != b"chunked":
            raise _Refused(error_response(501, "unsupported_transfer_encoding",
                                          "only chunked transfer-coding is accepted"))
        if lengths and int(lengths[0]) > self._limits.max_body:
            raise _Refused(error_response(413, "payload_too_large",
                                          f"bodies are limited to {self._limits.max_body} bytes"))
        expect = next((v for n, v in self._headers if n.lower() == b"expect"), None)
        if expect is not None and expect.lower() == b"100-continue" and self._transport:
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._body_size += len(body)
        if self._body_size > self._limits.max_body:
            raise _Refused(error_response(413, "payload_too_large",
                                          f"bodies are limited to {self._limits.max_body} bytes"))
        self._body.append(body)

    def on_message_complete(self) -> None:
        try:
            path, target = split_target(self._url)
        except BadTarget as exc:
            raise _Refused(error_response(400, "bad_request_target", str(exc))) from exc
        request = Request(method=self._parser.get_method().decode(), target=target, path=path,
                          headers=self._headers, body=b"".join(self._body),
                          keep_alive=self._parser.should_keep_alive(), peer=self._peer)
        self._queue.append(request)
        if len(self._queue) > self._limits.max_pipeline and self._transport is not None:
            self._transport.pause_reading()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._serve())

    # -- serving ---------------------------------------------------------------------------

    async def _serve(self) -> None:
        while self._queue and not self._closing:
            request = self._queue.popleft()
            self._arm(None)
            try:
                response = await self._handler(request)
            except Exception:
                log.exception("handler failed for %s %r", request.method, request.target)
                response = error_response(502, "proxy_error", "the proxy failed to forward")
            if self._transport is None:
                return
            self._transport.write(response.encode([], keep_alive=request.keep_alive,
                                                  head_only=request.method == "HEAD"))
            if not request.keep_alive:
                self._close()
                return
            if len(self._queue) <= self._limits.max_pipeline:
                self._transport.resume_reading()
        self._arm(self._limits.idle_timeout)

    def _refuse(self, response: Response) -> None:
        """Answer a request that cannot be parsed or accepted, then close (framing is lost).

        The close lingers: our side is shut after the response, and what the client still
        sends is read and dropped for a moment. Closing with unread data makes the kernel send
        a reset, which can destroy the response before a client that is still sending a
        refused body reads it.
        """
        self._closing = True
        self._queue.clear()
        if self._transport is None:
            return
        self._transport.write(response.encode([], keep_alive=False))
        if not self._transport.can_write_eof():
            self._close()
            return
        self._transport.write_eof()
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(LINGER_SECONDS, self._close)

    def _arm(self, timeout: float | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if timeout is not None and self._transport is not None:
            self._timer = asyncio.get_running_loop().call_later(timeout, self._expire)

    def _expire(self) -> None:
        if self._worker is not None and not self._worker.done():
            return  # a request is being served; its own timeouts apply
        if self._body or self._url:
            self._refuse(error_response(408, "request_timeout", "the request took too long"))
        else:
            self._close()

    def _close(self) -> None:
        self._closing = True
        if self._transport is not None:
            self._transport.close()
