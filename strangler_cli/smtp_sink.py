"""A local SMTP server that keeps what it receives: the demo's mailbox and the tests' receiver.

:class:`SmtpSink` (aiosmtpd in a thread of its own) accepts every message, keeps it in memory
and optionally writes it to a directory as ``.eml``. Tests can make it misbehave: answer the
next messages with a given code, refuse a recipient, or hold the reply to DATA. A message
counts as received only once the sink answered 250 on a live connection; a client that
vanishes before the reply delivered nothing (the case a crashed sender must retry).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any

import click
from aiosmtpd.controller import Controller

from strangler_cli.signals import stop_on_signals

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReceivedEmail:
    """One accepted message: its envelope and its content as sent."""

    mail_from: str
    recipients: tuple[str, ...]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        """The parsed message."""
        return message_from_bytes(self.content, policy=policy.default)

    @property
    def message_id(self) -> str | None:
        """The Message-ID header."""
        value = self.message["Message-ID"]
        return None if value is None else str(value).strip()


class SmtpSink:
    """An SMTP server on ``host:port`` keeping what it receives; a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8025, *,
                 maildir: Path | None = None) -> None:
        self.host = host
        self.port = port
        self.maildir = maildir
        self._lock = threading.Lock()
        self._received: list[ReceivedEmail] = []
        self._failures: list[tuple[int, str]] = []
        self._refused: dict[str, tuple[int, str]] = {}
        self._delay = 0.0
        self._in_data = 0
        self._data_started = 0
        self._controller = Controller(_Handler(self), hostname=host, port=port,
                                      ready_timeout=10.0)

    def start(self) -> None:
        """Listen; returns once the server answers."""
        if self.maildir is not None:
            self.maildir.mkdir(parents=True, exist_ok=True)
        self._controller.start()

    def stop(self) -> None:
        """Stop listening and drop open connections."""
        self._controller.stop()

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    # -- what arrived ------------------------------------------------------------------------

    @property
    def messages(self) -> list[ReceivedEmail]:
        """Every accepted message, oldest first."""
        with self._lock:
            return list(self._received)

    def with_message_id(self, message_id: str) -> list[ReceivedEmail]:
        """The accepted messages carrying ``message_id``."""
        return [m for m in self.messages if m.message_id == message_id]

    @property
    def data_in_progress(self) -> int:
        """How many DATA transactions are waiting for the sink's reply right now."""
        with self._lock:
            return self._in_data

    @property
    def data_started(self) -> int:
        """How many message contents arrived so far, whatever the sink answered."""
        with self._lock:
            return self._data_started

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedEmail]:
        """Wait until at least ``count`` messages arrived (or ``timeout``); return them all."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages

    # -- misbehaving -------------------------------------------------------------------------

    def fail_next(self, count: int, code: int = 451, text: str = "") -> None:
        """Answer the next ``count`` DATA transactions with ``code`` instead of 250."""
        text = text or ("4.3.0 try again later" if code < 500 else "5.7.1 rejected")
        with self._lock:
            self._failures.extend([(code, text)] * count)

    def refuse_recipient(self, address: str, code: int = 550, text: str = "") -> None:
        """Answer RCPT TO ``address`` with ``code``."""
        with self._lock:
            self._refused[address.lower()] = (code, text or "5.1.1 no such mailbox")

    def delay_data(self, seconds: float) -> None:
        """Hold each reply to DATA for ``seconds`` (0 to stop)."""
        with self._lock:
            self._delay = seconds

    # -- called by the handler in the server's thread ---------------------------------------

    def _refusal(self, address: str) -> tuple[int, str] | None:
        with self._lock:
            return self._refused.get(address.lower())

    def _begin_data(self) -> tuple[tuple[int, str] | None, float]:
        with self._lock:
            self._in_data += 1
            self._data_started += 1
            failure = self._failures.pop(0) if self._failures else None
            return failure, self._delay

    def _end_data(self) -> None:
        with self._lock:
            self._in_data -= 1

    def _accept(self, received: ReceivedEmail) -> None:
        with self._lock:
            self._received.append(received)
            number = len(self._received)
        log.info("received %s from %s for %s", received.message_id, received.mail_from,
                 ", ".join(received.recipients))
        if self.maildir is not None:
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{number:05d}.eml"
            (self.maildir / name).write_bytes(received.content)


class _Handler:
    """aiosmtpd's handler hooks, delegating the state to the sink."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        refusal = self.sink._refusal(address)
        if refusal is not None:
            return f"{refusal[0]} {refusal[1]}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        failure, delay = self.sink._begin_data()
        try:
            if failure is not None:
                return f"{failure[0]} {failure[1]}"
            if delay:
                await asyncio.sleep(delay)  # cancelled if the client goes away meanwhile
            if server.transport is None or server.transport.is_closing():
                return "421 4.4.2 connection lost"
            content = envelope.original_content or envelope.content
            self.sink._accept(ReceivedEmail(str(envelope.mail_from), tuple(envelope.rcpt_tos),
                                            bytes(content)))
            return "250 OK"
        finally:
            self.sink._end_data()


@click.command("smtp-sink")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8025, show_default=True, type=int)
@click.option("--maildir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write each message to this directory as a .eml file.")
def smtp_sink(host: str, port: int, maildir: Path | None) -> None:
    """A local SMTP server that accepts and keeps every message, until SIGTERM."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    stopped = threading.Event()
    stop_on_signals(stopped.set)
    with SmtpSink(host, port, maildir=maildir):
        click.echo(f"smtp sink listening on {host}:{port}"
                   + (f", writing to {maildir}" if maildir else ""))
        while not stopped.wait(0.5):
            pass
