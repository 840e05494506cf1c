"""HTTP messages as the data plane handles them: parsed heads, buffered bodies, raw bytes out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

HeaderList = list[tuple[bytes, bytes]]

HOP_BY_HOP = frozenset((
    b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding",
    b"upgrade", b"proxy-authenticate", b"proxy-authorization", b"content-length", b"expect",
))
"""Headers that describe one connection, never forwarded (framing is regenerated)."""

REASONS = {200: b"OK", 400: b"Bad Request", 404: b"Not Found", 408: b"Request Timeout",
           413: b"Payload Too Large", 431: b"Request Header Fields Too Large",
           501: b"Not Implemented", 502: b"Bad Gateway", 503: b"Service Unavailable",
           504: b"Gateway Timeout"}


def end_to_end(headers: HeaderList) -> HeaderList:
    """Drop hop-by-hop headers, and those the ``Connection`` header names."""
    named: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            named.update(token.strip().lower() for token in value.split(b","))
    drop = HOP_BY_HOP | named
    return [(n, v) for n, v in headers if n.lower() not in drop]


def header(headers: HeaderList, name: bytes) -> bytes | None:
    """The first value of ``name`` (lower-case), or None."""
    for n, v in headers:
        if n.lower() == name:
            return v
    return None


@dataclass(slots=True)
class Request:
    """A fully received client request."""

    method: str
    target: bytes
    path: str
    headers: HeaderList
    body: bytes = b""
    keep_alive: bool = True
    peer: str = ""

    def head(self, headers: HeaderList) -> bytes:
        """The request head for an upstream with ``headers`` (framing by Content-Length)."""
        lines = [f"{self.method} ".encode(), self.target, b" HTTP/1.1\r\n"]
        for name, value in headers:
            lines += (name, b": ", value, b"\r\n")
        if self.body or self.method in ("POST", "PUT", "PATCH"):
            lines += (b"Content-Length: ", str(len(self.body)).encode(), b"\r\n")
        lines.append(b"\r\n")
        return b"".join(lines)


@dataclass(slots=True)
class Response:
    """A fully received upstream response (or one the proxy makes itself)."""

    status: int
    reason: bytes
    headers: HeaderList = field(default_factory=list)
    body: bytes = b""

    def encode(self, extra: HeaderList, *, keep_alive: bool, head_only: bool = False) -> bytes:
        """Bytes for the client, framing by Content-Length."""
        lines = [b"HTTP/1.1 %d %b\r\n" % (self.status, self.reason)]
        for name, value in self.headers:
            lines += (name, b": ", value, b"\r\n")
        for name, value in extra:
            lines += (name, b": ", value, b"\r\n")
        framed = any(n.lower() == b"content-length" for n, _ in self.headers)
        if not framed and self.status not in (204, 304) and not 100 <= self.status < 200:
            lines += (b"Content-Length: ", str(len(self.body)).encode(), b"\r\n")
        if not keep_alive:
            lines.append(b"Connection: close\r\n")
        lines.append(b"\r\n")
        if not head_only:
            lines.append(self.body)
        return b"".join(lines)


def error_response(status: int, code: str, message: str) -> Response:
    """The JSON error shape every component uses."""
    body = json.dumps({"error": {"code": code, "message": message}},
                      separators=(",", ":")).encode()
    return Response(status, REASONS.get(status, b"Error"),
                    [(b"Content-Type", b"application/json")], body)
