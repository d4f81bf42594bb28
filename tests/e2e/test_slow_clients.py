"""A few slow clients never starve the web tier, against the real gunicorn config (gunicorn.conf.py).

Four clients send their request headers a byte at a time and four send complete headers
announcing a 60,000-byte body, then the body a byte at a time. While they are all connected,
/healthz answers every time within a second: a client sending its request slowly holds no
worker (or thread) that others need. With gunicorn's sync workers (what the Procfile ran before
gunicorn.conf.py) the eight slow clients hold every worker and /healthz goes unanswered.
"""

import select
import socket
import threading
import time

import pytest

from tests.live_server import LiveServer

pytestmark = pytest.mark.slow

SLOW_HEADER_CLIENTS = 4
SLOW_BODY_CLIENTS = 4
BODY_BYTES = 60_000  # under the app's 64 KiB limit: a body the app would read
BYTE_EVERY = 0.5  # seconds between two bytes of a slow client
PROBES = 10
ANSWER_WITHIN = 1.0  # seconds


class SlowClients:
    """Sockets that each send `head` at once, then `rest` a byte every BYTE_EVERY seconds."""

    def __init__(self, port: int, requests: list[tuple[bytes, bytes]]):
        self.sockets = []
        self.pending = []
        for head, rest in requests:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            if head:
                sock.sendall(head)
            self.sockets.append(sock)
            self.pending.append(rest)
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)

    def __enter__(self) -> "SlowClients":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()

    def _trickle(self) -> None:
        offset = 0
        while not self._stop.wait(BYTE_EVERY):
            for sock, rest in zip(self.sockets, self.pending, strict=True):
                if offset < len(rest):
                    try:
                        sock.send(rest[offset : offset + 1])
                    except OSError as error:
                        self.errors.append(repr(error))
            offset += 1

    def answered_or_closed(self) -> int:
        """How many slow sockets the server has answered or closed (readable: a response or EOF)."""
        readable, _, _ = select.select(self.sockets, [], [], 0)
        return len(readable)


def _healthz(port: int) -> tuple[int, float, str]:
    """GET /healthz on a new connection: (status, seconds, problem); status 0 when it timed out."""
    started = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_WITHIN) as sock:
            sock.settimeout(max(ANSWER_WITHIN - (time.perf_counter() - started), 0.01))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            response = b""
            while b"\r\n" not in response:
                remaining = ANSWER_WITHIN - (time.perf_counter() - started)
                if remaining <= 0:
                    raise TimeoutError("no status line within the time")
                sock.settimeout(remaining)
                chunk = sock.recv(4096)
                if not chunk:
                    break
                response += chunk
    except OSError as error:  # socket.timeout included
        return 0, time.perf_counter() - started, repr(error)
    elapsed = time.perf_counter() - started
    status_line = response.split(b"\r\n", 1)[0].decode(errors="replace")
    parts = status_line.split()
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return status, elapsed, "" if status else f"unexpected answer {status_line!r}"


def _slow_requests(cohort_id: str) -> list[tuple[bytes, bytes]]:
    slow_header = (
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow-headers\r\n"
        b"X-Padding: " + b"a" * 200 + b"\r\n\r\n"
    )
    body_head = (
        f"POST /api/v1/cohorts/{cohort_id}/enrolments HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {BODY_BYTES}\r\n\r\n"
    ).encode()
    body = (b'{"name": "Slow", "email": "slow@example.org", "padding": "' + b"x" * BODY_BYTES)[:BODY_BYTES]
    return [(b"", slow_header)] * SLOW_HEADER_CLIENTS + [(body_head, body)] * SLOW_BODY_CLIENTS


def test_healthz_answers_while_slow_clients_hold_connections(app, database_url, make_cohort):
    cohort = make_cohort(capacity=10, price_amount=0)
    # workers=None: as many workers and threads as the config gives a server that sets nothing.
    with LiveServer(database_url, workers=None) as server:
        assert _healthz(server.port)[0] == 200
        with SlowClients(server.port, _slow_requests(cohort.id)) as slow:
            time.sleep(1.0)  # every slow client connected and started on its request
            probes = [_healthz(server.port) for _ in range(PROBES)]
            dropped = slow.answered_or_closed()
            errors = list(slow.errors)
    answered = sum(status == 200 and seconds < ANSWER_WITHIN for status, seconds, _ in probes)
    late = "; ".join(
        f"#{i}: {status or problem} in {seconds:.2f}s" for i, (status, seconds, problem) in enumerate(probes)
    )
    assert answered == PROBES, f"{answered} of {PROBES} /healthz answered 200 within {ANSWER_WITHIN}s: {late}"
    # The slow clients were still there, unanswered, the whole time: the server did not just drop them.
    assert dropped == 0 and not errors, (dropped, errors)
