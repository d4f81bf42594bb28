"""A real SMTP server for tests: aiosmtpd on a free loopback port, recording every message.

It offers PIPELINING unless told not to (pipelining=False).
The handler can be told to refuse for a while: `server.refuse(451, times=3)` answers
the next three DATA commands with 451, `server.refuse(550)` refuses until
`server.accept()`; `after=n` lets the next n through first. `server.block_rcpt()`
holds RCPT until released, so a test can kill a client in the middle of a send.
`server.slow(0.05, 0.2)` answers each DATA after that many seconds (a throttling provider),
and `server.refuse_sometimes(451, 0.1)` refuses about that share of them.
"""

import asyncio
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

REPLIES = {
    421: "421 4.3.2 Service shutting down, try later",
    451: "451 4.3.0 Temporary local problem, try later",
    550: "550 5.1.1 Mailbox unavailable",
}


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list
    data: bytes
    at: float = field(default_factory=time.monotonic, compare=False)  # when it was accepted (bench/mail_drain.py)

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]


class RecordingHandler:
    def __init__(self, pipelining: bool = True):
        self.pipelining = pipelining
        self.messages: list[Received] = []
        self.refusals: list[tuple[int, int | None, str]] = []  # (code, times left or None, stage)
        self.let_through: dict[str, int] = {}  # stage -> how many more to accept before refusing
        self.lock = threading.Lock()
        self.rcpt_gate = threading.Event()
        self.rcpt_gate.set()
        self.rcpt_waiting = threading.Event()
        self.data_seen = 0
        self.delay = (0.0, 0.0)  # seconds before each DATA is answered: (least, most)
        self.sometimes: tuple[int, float] | None = None  # (code, share of DATA commands refused)

    def _refusal(self, stage: str):
        with self.lock:
            if self.let_through.get(stage):
                self.let_through[stage] -= 1
                return None
            for i, (code, left, when) in enumerate(self.refusals):
                if when != stage:
                    continue
                if left is not None:
                    if left <= 1:
                        self.refusals.pop(i)
                    else:
                        self.refusals[i] = (code, left - 1, when)
                return REPLIES[code]
        return None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # Offers PIPELINING, as Postfix and most relays do: aiosmtpd reads commands in
        # order from its buffered stream, so a client may send MAIL, RCPT and DATA at once.
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if not self.rcpt_gate.is_set():
            self.rcpt_waiting.set()
            while not self.rcpt_gate.is_set():  # aiosmtpd's loop runs in its own thread
                import asyncio

                await asyncio.sleep(0.01)
        refusal = self._refusal("rcpt")
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay[1] > 0:
            await asyncio.sleep(random.uniform(*self.delay))
        if self.sometimes is not None and random.random() < self.sometimes[1]:
            return REPLIES[self.sometimes[0]]
        refusal = self._refusal("data")
        if refusal:
            return refusal
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


class SMTPServer:
    def __init__(self, login: tuple[str, str] | None = None, pipelining: bool = True):
        """login=(user, password): require AUTH (over plain loopback, as a local relay might);
        pipelining=False: a server that does not offer PIPELINING (clients send one command at a time)."""
        self.handler = RecordingHandler(pipelining)
        self.port = free_port()
        options = {}
        if login is not None:
            from aiosmtpd.smtp import AuthResult

            def authenticator(server, session, envelope, mechanism, auth_data):
                ok = (auth_data.login.decode(), auth_data.password.decode()) == login
                return AuthResult(success=ok)

            options = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": False}
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **options)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.messages)

    def refuse(self, code: int, times: int | None = None, stage: str = "data", after: int = 0) -> None:
        with self.handler.lock:
            self.handler.refusals.append((code, times, stage))
            self.handler.let_through[stage] = after

    def slow(self, least: float, most: float) -> None:
        self.handler.delay = (least, most)

    def refuse_sometimes(self, code: int, share: float) -> None:
        self.handler.sometimes = (code, share)

    def accept(self) -> None:
        with self.handler.lock:
            self.handler.refusals.clear()
            self.handler.let_through.clear()

    def block_rcpt(self) -> None:
        self.handler.rcpt_waiting.clear()
        self.handler.rcpt_gate.clear()

    def release_rcpt(self) -> None:
        self.handler.rcpt_gate.set()

    def wait_for_messages(self, count: int, timeout: float = 30) -> list[Received]:
        """Poll (bounded) until at least `count` messages arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return self.messages
            time.sleep(0.02)
        raise AssertionError(f"expected {count} messages within {timeout}s, got {len(self.messages)}")

    def start(self) -> "SMTPServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.release_rcpt()
        self.controller.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
