"""gunicorn's settings for the web process: the Procfile, `make run` and the end-to-end tests use it.

    gunicorn -c gunicorn.conf.py wsgi:app       (command-line options override what is set here)

Environment (what platforms set): PORT (listen on 0.0.0.0:$PORT, default 5000), WEB_CONCURRENCY
(worker processes, default 2: one per core of the 2-core machine this is sized for), GUNICORN_THREADS
(threads per worker, default 8: requests run at once in each process, within SQLAlchemy's pool of 15).

Slow clients. gunicorn's sync worker gives a whole process to a connection from its first byte: four
clients sending a request a byte a second hold four workers. gthread gives a connection a thread
once its first byte arrives and the thread then waits, without any time limit, for the rest of the
headers and for the body as the application reads it, so a handful of slow clients per worker hold
every thread. The worker class here, RequestBufferingWorker, is gthread with one change: its main
loop, which waits on every socket at once, reads each request (its head, then its body up to the
application's MAX_CONTENT_LENGTH, 64 KiB) into memory, and a thread is given the request only once
it has all arrived. A slow client then costs a socket and its bytes so far (a head of at most 64 KiB,
a body of at most 64 KiB), not a thread; a request that has not all arrived within
REQUEST_READ_TIMEOUT (30 s) is closed, and a worker holds at most worker_connections (1000) at once.
What is not covered: a client that reads its response slowly holds the thread writing it (responses
here are small), and TLS or HTTP/2 served by gunicorn itself (not used: a platform's router or a
proxy terminates TLS) fall back to gthread's own reading. A buffering proxy in front (nginx) is
still worth having on the open internet, for TLS and for many thousands of connections; it is not
needed for slow clients.

Rate limits count in each process's memory by default (RATELIMIT_STORAGE_URI=memory://): with more
than one worker, each counts alone. The first worker says so at startup (a warning naming
RATELIMIT_STORAGE_URI); point it at Redis when WEB_CONCURRENCY is more than 1.
"""

import os
import re
import selectors
import shutil
import tempfile
import time
from collections import deque
from functools import partial
from pathlib import Path

from gunicorn.workers.gthread import ThreadWorker

# ---- settings -----------------------------------------------------------------------------------

bind = [f"0.0.0.0:{os.environ.get('PORT') or 5000}"]
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
threads = int(os.environ.get("GUNICORN_THREADS") or 8)
# worker_class is RequestBufferingWorker, set below where it is defined.
worker_connections = 1000  # connections a worker holds at once, slow ones included (each a file descriptor)

# gthread's main loop reports to the master every second whatever its threads do: `timeout` restarts
# a worker whose loop hangs, not a slow request. Stopping (SIGTERM, a deploy): requests in hand get
# `graceful_timeout` to finish, under the 10 s a container runtime waits before SIGKILL.
timeout = 30
graceful_timeout = 8
keepalive = 5  # seconds an idle connection is kept for its next request

# Requests: a request line of at most 4 KiB, at most 100 header fields of 8 KiB each; the body's limit
# (64 KiB) is the application's MAX_CONTENT_LENGTH (scheduler/__init__.py), read by the worker below.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# No control socket ($HOME/.gunicorn/gunicorn.ctl, for `gunicornc`): nothing here uses it, and every
# server on a machine would share that one path.
control_socket_disable = True

# Logs: the access log to stdout, gunicorn's own to stderr, tokens redacted from both.
accesslog = "-"
errorlog = "-"
logger_class = "scheduler.foundation.logs.GunicornLogger"

# Prometheus counts from every worker summed (scheduler/foundation/metrics.py): a fresh directory for
# this server unless one is given, removed when the server stops.
_METRICS_PREFIX = "scheduler-metrics-"
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=_METRICS_PREFIX)


def on_exit(server):
    made = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR", ""))
    if made.name.startswith(_METRICS_PREFIX) and made.parent == Path(tempfile.gettempdir()):
        shutil.rmtree(made, ignore_errors=True)


# ---- rate limits counted per process ------------------------------------------------------------


def post_worker_init(worker):
    """The first worker started looks at the app's rate-limit settings and says once if each of
    several workers would count alone."""
    if worker.age != 1:
        return
    config = getattr(worker.wsgi, "config", {})
    message = rate_limit_warning(
        worker.cfg.workers, config.get("RATELIMIT_ENABLED", False), config.get("RATELIMIT_STORAGE_URI", "")
    )
    if message:
        worker.log.warning(message)


def rate_limit_warning(processes: int, enabled: bool, storage_uri: str) -> str | None:
    if not enabled or processes <= 1 or not str(storage_uri).startswith("memory://"):
        return None
    return (
        f"Rate limits are counted in each process's memory (RATELIMIT_STORAGE_URI={storage_uri}) while "
        f"{processes} gunicorn workers serve the app: each worker counts alone, so up to {processes} times "
        "every limit gets through. Set RATELIMIT_STORAGE_URI to a Redis shared by every process "
        "(redis://host:6379/0), or run one worker (WEB_CONCURRENCY=1) with threads."
    )


# ---- the worker class ---------------------------------------------------------------------------

REQUEST_READ_TIMEOUT = 30.0  # seconds for a whole request (head and body) to arrive, from its first wait
UNREAD_BODY_WAIT = 0.25  # seconds a thread waits for the rest of a body the app left unread (then closes)
DEFAULT_MAX_BODY = 64 * 1024  # when the app sets no MAX_CONTENT_LENGTH
MAX_HEAD = 64 * 1024  # a longer head (never a browser's) is read by a thread, as gthread does
READ_SIZE = 64 * 1024
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


class RequestBufferingWorker(ThreadWorker):
    """gthread whose main loop reads each whole request before a thread is given it (see the top)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reading = deque()  # connections whose request is still arriving, oldest deadline first
        self.max_body = DEFAULT_MAX_BODY
        # TLS and HTTP/2 are read by gthread's own code (bytes here would be encrypted or framed).
        self.buffers = (
            not self.cfg.is_ssl
            and self.cfg.http_protocols == ["h1"]
            and self.cfg.protocol == "http"
            and self.cfg.proxy_protocol == "off"
        )

    def load_wsgi(self):
        super().load_wsgi()
        limit = getattr(self.wsgi, "config", {}).get("MAX_CONTENT_LENGTH")
        self.max_body = limit if limit else DEFAULT_MAX_BODY

    # Every way a connection reaches the thread pool (accepted, kept alive, pipelined) passes here.
    def enqueue_req(self, conn):
        if not self.buffers:
            return super().enqueue_req(conn)
        # A pipelining client's next request may already be in the parser's hands.
        held = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        conn.request_bytes, conn.request_size = bytearray(held), None
        conn.read_deadline = time.monotonic() + REQUEST_READ_TIMEOUT
        conn.sock.setblocking(False)
        self.reading.append(conn)
        if self._whole(conn):
            self._dispatch(conn)
        else:
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_request_bytes, conn))

    def _on_request_bytes(self, conn, _sock):
        try:
            data = conn.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away before finishing its request
            self._drop(conn)
            return
        conn.request_bytes += data
        if self._whole(conn):
            self.poller.unregister(conn.sock)
            self._dispatch(conn)

    def _whole(self, conn) -> bool:
        if conn.request_size is not None:  # the head is read: only the body's length is left to check
            return len(conn.request_bytes) >= conn.request_size
        whole, expect, conn.request_size = whole_request(conn.request_bytes, self.max_body)
        if expect is not None:
            # The client waits for "100 Continue" before sending its body: answer it here, and take
            # the header out so that gunicorn does not answer it again.
            del conn.request_bytes[expect[0] : expect[1]]
            if conn.request_size is not None:
                conn.request_size -= expect[1] - expect[0]
            try:
                conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            except OSError:
                return True  # the thread meets the error and closes the connection
        return whole

    def _dispatch(self, conn):
        self.reading.remove(conn)
        conn.prebuffered, conn.request_bytes = bytes(conn.request_bytes), None
        conn.data_ready = True  # gthread's own wait for a first byte is not needed
        super().enqueue_req(conn)

    def _drop(self, conn):
        self.reading.remove(conn)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        self.nr_conns -= 1
        conn.close()

    def handle(self, conn):  # in a thread
        data = getattr(conn, "prebuffered", None)
        if data is not None:
            conn.prebuffered = None
            conn.init()
            conn.parser.unreader.unread(data)
        return super().handle(conn)

    def _keepalive_after(self, conn, keepalive):
        # The body, up to the app's limit, was read before the thread had the request: what a thread
        # could still wait for is a larger body the app refused (413). Close rather than wait for it.
        if not keepalive:
            return False
        return bool(conn.parser.finish_body(deadline=time.monotonic() + UNREAD_BODY_WAIT))

    def murder_pending(self):  # called every second by gthread's loop, and while stopping
        super().murder_pending()
        now = time.monotonic()
        while self.reading and self.reading[0].read_deadline <= now:
            self._drop(self.reading[0])
        if not self.alive:  # stopping: a connection that has sent nothing yet is not waited for
            for conn in [conn for conn in self.reading if not conn.request_bytes]:
                self._drop(conn)


worker_class = RequestBufferingWorker


def whole_request(buf: bytearray, max_body: int) -> tuple[bool, tuple[int, int] | None, int | None]:
    """Whether `buf` holds a whole HTTP/1.x request (its head, and its body up to `max_body`), or
    enough for gunicorn or the app to answer without waiting on the client (a malformed head, a
    body over the limit); the span of an `Expect: 100-continue` line to answer, when the body is
    still to come; and, for a body of known length still to come, the whole request's size.
    Anything unusual counts as whole: gunicorn's parser then decides."""
    start = 0
    while start < len(buf) and buf[start] in b"\r\n":  # empty lines before a request are ignored
        start += 1
    end = buf.find(b"\r\n\r\n", start)
    if end < 0:
        return len(buf) - start > MAX_HEAD, None, None
    body_start = end + 4
    lines = bytes(buf[start:end]).split(b"\r\n")
    length, chunked, expect = None, False, None
    position = start + len(lines[0]) + 2
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            if length is not None or not value.isdigit():
                return True, None, None
            length = int(value)
        elif name == b"transfer-encoding":
            if not value.endswith(b"chunked"):
                return True, None, None
            chunked = True
        elif name == b"expect":
            if value != b"100-continue":
                return True, None, None
            if lines[0].endswith(b"HTTP/1.1"):  # never a 1xx to an HTTP/1.0 client
                expect = (position, position + len(line) + 2)
        position += len(line) + 2
    if chunked:
        if length is not None:
            return True, None, None
        whole = _chunked_body_whole(buf, body_start, max_body)
        return whole, (None if whole else expect), None
    if not length or length > max_body:  # no body, or one the app refuses without reading
        return True, None, None
    whole = len(buf) - body_start >= length
    return whole, (None if whole else expect), body_start + length


def _chunked_body_whole(buf: bytearray, position: int, max_body: int) -> bool:
    total = 0
    while True:
        line_end = buf.find(b"\r\n", position)
        if line_end < 0:
            return len(buf) - position > 1024  # no chunk-size line is that long
        size = bytes(buf[position:line_end]).split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(size):
            return True
        size = int(size, 16)
        if size == 0:  # the last chunk, then trailer fields and an empty line
            return buf.find(b"\r\n\r\n", line_end) >= 0
        total += size
        if total > max_body:
            return True
        position = line_end + 2 + size + 2
        if position > len(buf):
            return False
