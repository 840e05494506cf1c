"""Request targets the proxy forwards byte for byte, and those it refuses.

The proxy routes on the raw path and forwards the raw request target unchanged. That is only
safe if the backend cannot read the path as a *different* path than the proxy did, so targets
whose meaning depends on normalisation are refused with 400 instead of being routed: encoded
slashes and backslashes, percent-encoded unreserved characters (``%41`` for ``A``), dot
segments, empty segments, control characters, and anything that is not origin-form.
"""

from __future__ import annotations

import re

_PERCENT = re.compile(rb"%(..)")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_FORBIDDEN_DECODED = _UNRESERVED | frozenset(b"/\\") | frozenset(range(0x20)) | {0x7F}
_ALLOWED_RAW = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@%/")
MAX_TARGET = 8192


class BadTarget(ValueError):
    """A request target the proxy will not route."""


def split_target(target: bytes) -> tuple[str, bytes]:
    """Check a raw request target; return its path (for routing) and the target unchanged."""
    if not target.startswith(b"/"):
        raise BadTarget("only origin-form request targets are accepted")
    if len(target) > MAX_TARGET:
        raise BadTarget("request target too long")
    raw_path, _, query = target.partition(b"?")
    if b"#" in target:
        raise BadTarget("fragments are not sent to servers")
    if not set(raw_path) <= _ALLOWED_RAW:
        raise BadTarget("the path has characters that must be percent-encoded")
    if not set(query) <= _ALLOWED_RAW | {ord("?")}:
        raise BadTarget("the query has characters that must be percent-encoded")
    for match in _PERCENT.finditer(raw_path):
        pair = match.group(1)
        if not set(pair) <= _HEX:
            raise BadTarget("malformed percent-encoding")
        if int(pair, 16) in _FORBIDDEN_DECODED:
            raise BadTarget("the path encodes a character that changes how it is routed")
    if raw_path.count(b"%") != len(_PERCENT.findall(raw_path)):
        raise BadTarget("malformed percent-encoding")
    segments = raw_path.split(b"/")[1:]
    for n, segment in enumerate(segments):
        if segment in (b".", b".."):
            raise BadTarget("dot segments are not accepted")
        if not segment and n != len(segments) - 1:
            raise BadTarget("empty path segments are not accepted")
    return raw_path.decode("ascii"), target
