"""Integration events and their CloudEvents 1.0 envelope (structured JSON mode).

AMQP 0-9-1 has no official CloudEvents binding, so the whole event travels as one JSON document
with content type ``application/cloudevents+json``. The extension attributes are:

- ``aggregatetype`` -- the kind of aggregate that changed (``product``);
- ``aggregatesequence`` -- the aggregate's version after the change, 1, 2, 3, ... Consumers
  apply an event only if it is newer than what they hold. (The CloudEvents ``sequence``
  extension is a *string* compared lexicographically, so it is not reused here.)
- ``origin`` -- the system whose write produced the event; reverse sync uses it to stop loops;
- ``traceparent`` / ``tracestate`` -- W3C trace context of the write;
- ``resync`` -- present (``true``) only on repair snapshots from reconcile: the consumer applies
  it even at the version it already holds, because that version's content had drifted.

``subject`` carries the aggregate id, which is also the ordering key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

CONTENT_TYPE = "application/cloudevents+json"
SPEC_VERSION = "1.0"
_REQUIRED = ("specversion", "id", "source", "type", "subject", "time", "aggregatetype",
             "aggregatesequence", "origin", "data")


class EnvelopeError(ValueError):
    """A message body that is not a valid event envelope (a poison message)."""


@dataclass(frozen=True, slots=True)
class IntegrationEvent:
    """A fact another part of the system may react to, as application code publishes it.

    ``type`` is versioned (``catalog.product.updated.v1``); ``data`` must match the JSON Schema
    for that type in ``contracts/events/``; ``sequence`` is the aggregate's version after the
    change.
    """

    type: str
    aggregate_type: str
    aggregate_id: str
    sequence: int
    data: Mapping[str, Any] = field(default_factory=dict)
    resync: bool = False


@dataclass(frozen=True, slots=True)
class CloudEvent:
    """The envelope an integration event travels in."""

    id: str
    source: str
    type: str
    subject: str
    time: datetime
    aggregatetype: str
    aggregatesequence: int
    origin: str
    data: Mapping[str, Any]
    traceparent: str | None = None
    tracestate: str | None = None
    resync: bool = False
    datacontenttype: str = "application/json"
    specversion: str = SPEC_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The structured-mode JSON object (optional attributes left out when unset)."""
        doc: dict[str, Any] = {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": self.time.isoformat(timespec="milliseconds"),
            "datacontenttype": self.datacontenttype,
            "aggregatetype": self.aggregatetype,
            "aggregatesequence": self.aggregatesequence,
            "origin": self.origin,
        }
        if self.traceparent:
            doc["traceparent"] = self.traceparent
        if self.tracestate:
            doc["tracestate"] = self.tracestate
        if self.resync:
            doc["resync"] = True
        doc["data"] = dict(self.data)
        return doc

    def to_json(self) -> bytes:
        """Serialise for the wire."""
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False).encode()

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> CloudEvent:
        """Parse a structured-mode event, raising :class:`EnvelopeError` if it is not one."""
        missing = [name for name in _REQUIRED if name not in doc]
        if missing:
            raise EnvelopeError(f"missing CloudEvents attributes: {', '.join(missing)}")
        if doc["specversion"] != SPEC_VERSION:
            raise EnvelopeError(f"unsupported specversion {doc['specversion']!r}")
        sequence = doc["aggregatesequence"]
        if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
            raise EnvelopeError("aggregatesequence must be a positive integer")
        if not isinstance(doc["data"], Mapping):
            raise EnvelopeError("data must be a JSON object")
        try:
            time = datetime.fromisoformat(doc["time"])
        except (TypeError, ValueError) as exc:
            raise EnvelopeError(f"time is not an RFC 3339 timestamp: {doc['time']!r}") from exc
        if time.tzinfo is None:
            raise EnvelopeError("time must carry a UTC offset")
        strings = ("id", "source", "type", "subject", "aggregatetype", "origin")
        for name in strings:
            if not isinstance(doc[name], str) or not doc[name]:
                raise EnvelopeError(f"{name} must be a non-empty string")
        for name in ("traceparent", "tracestate", "datacontenttype"):
            if name in doc and not isinstance(doc[name], str):
                raise EnvelopeError(f"{name} must be a string")
        if not isinstance(doc.get("resync", False), bool):
            raise EnvelopeError("resync must be a boolean")
        return cls(
            id=doc["id"],
            source=doc["source"],
            type=doc["type"],
            subject=doc["subject"],
            time=time,
            aggregatetype=doc["aggregatetype"],
            aggregatesequence=sequence,
            origin=doc["origin"],
            data=doc["data"],
            traceparent=doc.get("traceparent"),
            tracestate=doc.get("tracestate"),
            resync=doc.get("resync", False),
            datacontenttype=doc.get("datacontenttype", "application/json"),
        )

    @classmethod
    def from_json(cls, body: bytes | str) -> CloudEvent:
        """Parse a message body, raising :class:`EnvelopeError` for anything malformed."""
        try:
            doc = json.loads(body, parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError) as exc:
            raise EnvelopeError(f"body is not JSON: {exc}") from exc
        except RecursionError as exc:
            raise EnvelopeError("body is nested too deeply") from exc
        if not isinstance(doc, dict):
            raise EnvelopeError("body must be a JSON object")
        return cls.from_dict(doc)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
