"""Hostile and malformed requests, sent as raw bytes: refused with the right status, the
connection closed when framing is in doubt, and nothing reaches a backend."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from strangler_cli.databases import DATABASES, upgrade
from tests.support.upstreams import Upstream, data_plane, serving


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Upstream]]:
    path: Path = tmp_path_factory.mktemp("proxy")
    url = f"sqlite:///{path / 'proxy.db'}"
    upgrade(DATABASES["proxy"], url)
    with serving(Upstream("monolith")) as legacy:
        backends = {"monolith": legacy.url, "catalog": legacy.url,
                    "notifications": legacy.url}
        with data_plane(url, backends) as (proxy_url, _plane):
            yield int(proxy_url.rsplit(":", 1)[1]), legacy


def exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes, bool]:
    """Send raw bytes; return status, headers, body, and whether the proxy closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(raw)
        data = b""
        closed = False
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                closed = True
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        length = int(headers.get("Content-Length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        if not closed:
            sock.settimeout(1)
            try:
                closed = sock.recv(1) == b""
            except TimeoutError:
                closed = False
            except ConnectionResetError:  # closed too; the response was read in full before
                closed = True
        return int(lines[0].split()[1]), headers, body, closed


@pytest.mark.parametrize(("raw", "status", "code"), [
    (b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\n", 400, None),
    (b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd",
     400, None),
    (b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
     501, "unsupported_transfer_encoding"),
    (b"GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "ambiguous_framing"),
    (b"GET /api/products%2F1 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_request_target"),
    (b"GET /api/../admin HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_request_target"),
    (b"GET http://evil.test/x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_request_target"),
    (b"GET /x HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n", 431,
     "headers_too_large"),
    (b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n", 413,
     "payload_too_large"),
    (b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 501,
     "upgrade_not_supported"),
    (b"GET /x HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n", 400, None),
    (b"GARBAGE\r\n\r\n", 400, None),
])
def test_refused_before_any_backend_sees_it(setup: tuple[int, Upstream], raw: bytes,
                                            status: int, code: str | None) -> None:
    port, legacy = setup
    before = len(legacy.seen)
    got, _headers, body, closed = exchange(port, raw)
    assert got == status
    assert closed, "the connection must close when the framing cannot be trusted"
    assert len(legacy.seen) == before
    if code is not None:
        assert json.loads(body)["error"]["code"] == code


def test_a_chunked_body_over_the_limit_is_refused(setup: tuple[int, Upstream]) -> None:
    port, _legacy = setup
    chunk = b"a" * 60_000
    body = b"".join(b"%x\r\n%b\r\n" % (len(chunk), chunk) for _ in range(20)) + b"0\r\n\r\n"
    status, _, _, closed = exchange(port, b"POST /x HTTP/1.1\r\nHost: a\r\n"
                                          b"Transfer-Encoding: chunked\r\n\r\n" + body)
    assert status == 413 and closed


def test_a_smuggled_second_request_is_not_forwarded(setup: tuple[int, Upstream]) -> None:
    port, legacy = setup
    before = len(legacy.seen)
    raw = (b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 44\r\nTransfer-Encoding: chunked"
           b"\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n")
    status, _, _, closed = exchange(port, raw)
    assert status == 400 and closed
    assert len(legacy.seen) == before


def test_a_valid_chunked_request_is_forwarded_with_a_length(setup: tuple[int, Upstream]) -> None:
    port, legacy = setup
    status, _headers, body, _ = exchange(port, b"POST /echo HTTP/1.1\r\nHost: a\r\n"
                                              b"Transfer-Encoding: chunked\r\n\r\n"
                                              b"5\r\nhello\r\n0\r\n\r\n")
    assert status == 200 and json.loads(body)["backend"] == "monolith"
    seen = legacy.seen[-1]
    assert seen["body"] == "hello"
    assert seen["headers"]["Content-Length"] == "5"  # type: ignore[index]
    assert "Transfer-Encoding" not in seen["headers"]  # type: ignore[operator]


def test_the_request_target_reaches_the_backend_byte_for_byte(
        setup: tuple[int, Upstream]) -> None:
    port, legacy = setup
    target = b"/api/products/caf%C3%A9?q=a%20b&x=%2F&y=1"
    status, _, _, _ = exchange(port, b"GET " + target + b" HTTP/1.1\r\nHost: a\r\n\r\n")
    assert status == 200
    assert legacy.seen[-1]["raw_uri"] == target.decode()
