"""Comparing the legacy and the service response of a shadowed request.

Status, the headers that matter, and the JSON body -- field by field, except the paths a route
says to ignore (``items.*.updated_at``: ``*`` matches any key or index) and, with noise
cancellation, the paths where two legacy responses to the same request already differ (Diffy's
idea: what legacy itself does not reproduce is noise, not a mismatch).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from strangler_proxy.messages import Response, header

MAX_DIFFERENCES = 20
_MISSING = object()


def differences(legacy: Response, service: Response, *, compare_headers: Iterable[str],
                ignore: Iterable[str] = (), noise: Response | None = None) -> list[str]:
    """Human-readable differences; empty when the responses match."""
    found: list[str] = []
    if legacy.status != service.status:
        found.append(f"status: {legacy.status} != {service.status}")
    for name in compare_headers:
        a, b = header(legacy.headers, name.encode()), header(service.headers, name.encode())
        if a != b:
            found.append(f"header {name}: {_text(a)} != {_text(b)}")
    ignored = [tuple(p.split(".")) for p in ignore]
    left, right = _json(legacy.body), _json(service.body)
    if left is _MISSING or right is _MISSING:
        if legacy.body != service.body:
            found.append("body: differs (not JSON)")
        return found[:MAX_DIFFERENCES]
    noisy: set[str] = set()
    if noise is not None:
        again = _json(noise.body)
        if again is not _MISSING:
            noisy = {d.split(":", 1)[0] for d in _diff(left, again, (), ignored)}
    for difference in _diff(left, right, (), ignored):
        if difference.split(":", 1)[0] not in noisy:
            found.append(difference)
            if len(found) >= MAX_DIFFERENCES:
                break
    return found


def _diff(a: Any, b: Any, path: tuple[str, ...], ignored: list[tuple[str, ...]]
          ) -> Iterable[str]:
    if any(_covers(pattern, path) for pattern in ignored):
        return
    where = ".".join(path) or "(body)"
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in b:
                yield f"{where}.{key}: only in legacy" if path else f"{key}: only in legacy"
            elif key not in a:
                yield f"{where}.{key}: only in service" if path else f"{key}: only in service"
            else:
                yield from _diff(a[key], b[key], (*path, key), ignored)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield f"{where}: {len(a)} items != {len(b)} items"
        for n, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from _diff(x, y, (*path, str(n)), ignored)
    elif a != b or type(a) is not type(b):
        yield f"{where}: {_short(a)} != {_short(b)}"


def _covers(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    return len(pattern) == len(path) and all(p in ("*", q) for p, q in zip(pattern, path,
                                                                            strict=True))


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return _MISSING


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _text(value: bytes | None) -> str:
    return "(absent)" if value is None else value.decode("latin-1")
