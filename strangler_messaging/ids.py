"""Identifiers that sort by creation time.

UUIDv7 (RFC 9562) keeps B-tree inserts local and lets two writers -- the monolith and an
extracted service -- mint ids for the same aggregate type without ever colliding.
"""

import os
import time
import uuid

_MASK_48 = (1 << 48) - 1
_MASK_62 = (1 << 62) - 1


def uuid7() -> uuid.UUID:
    """Return a new RFC 9562 version 7 UUID: 48-bit Unix milliseconds, then 74 random bits."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a = (rand >> 62) & 0xFFF
    rand_b = rand & _MASK_62
    value = (millis & _MASK_48) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)
