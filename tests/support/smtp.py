"""A real SMTP server for tests and benchmarks (aiosmtpd), recording what it accepts.

It can refuse the next recipients or messages with given replies (to test retries and
bounces) and hold a chosen recipient command until released (to kill a sender while it
is in the middle of an SMTP conversation).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes, policy
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    to: tuple[str, ...]
    subject: str
    message_id: str
    body: str
    raw: str


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        sink = self.sink
        with sink.lock:
            sink.rcpt_count += 1
            hold = sink.hold_at is not None and sink.rcpt_count == sink.hold_at
            reply = sink.rcpt_replies.popleft() if sink.rcpt_replies else None
        if hold:
            sink.held.set()
            await asyncio.get_running_loop().run_in_executor(None, sink.release.wait)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        sink = self.sink
        with sink.lock:
            reply = sink.data_replies.popleft() if sink.data_replies else None
        if reply is not None:
            return reply
        raw = bytes(envelope.content)
        parsed = message_from_bytes(raw, policy=policy.default)
        body = parsed.get_body(preferencelist=("plain",))
        received = Received(
            to=tuple(envelope.rcpt_tos),
            subject=str(parsed["Subject"]),
            message_id=str(parsed["Message-ID"]),
            body=body.get_content() if body is not None else "",  # type: ignore[union-attr]
            raw=raw.decode("utf-8", "replace"),
        )
        with sink.lock:
            sink.messages.append(received)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpSink:
    """The server: ``start()``, ``stop()``; ``messages`` is what it accepted, in order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[Received] = []
        self.rcpt_replies: deque[str] = deque()
        self.data_replies: deque[str] = deque()
        self.rcpt_count = 0
        self.hold_at: int | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        self.port = _free_port()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._controller.stop()

    def refuse_recipients(self, *replies: str) -> None:
        """Answer the next recipient commands with these replies (e.g. ``451 try later``)."""
        with self.lock:
            self.rcpt_replies.extend(replies)

    def refuse_data(self, *replies: str) -> None:
        """Answer the next DATA commands with these replies."""
        with self.lock:
            self.data_replies.extend(replies)

    def hold_recipient(self, number: int) -> None:
        """Hold the ``number``-th recipient command (1-based) until :attr:`release` is set;
        :attr:`held` is set when it arrives."""
        with self.lock:
            self.hold_at = number

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.messages)
