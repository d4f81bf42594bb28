"""A real gunicorn server in a subprocess, for end-to-end tests and the bench script.

    with LiveServer(database_url, workers=4) as server:
        requests.get(server.url + "/healthz")

The database must already be migrated (the `database_url` fixture is). The server runs
with the repository's gunicorn.conf.py (the Procfile's and `make run`'s: worker class,
threads, limits, logger class, hooks); the command line's options override it: it
listens on 127.0.0.1 on a free port with `workers` processes (None: as many as the
config gives), and rate limits are off unless `env` turns them on.
It logs as in production: `access_log=path` writes gunicorn's access log there; the
app's own log and gunicorn's error log go to a file, read by `server.app_log()`.
Its instance folder (mail files, anything else kept locally) is a throwaway one,
`server.instance_dir`, never the repository's instance/.
`fire(url, jobs, processes)` sends HTTP requests from separate client processes.
`run_jobs(database_url, count)` runs `flask --app wsgi jobs run-once` in that many processes at
once (the worker's pass: the public request inbox first) and returns what each printed.
"""

import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


class LiveServer:
    """gunicorn serving wsgi:app with gunicorn.conf.py and `workers` processes against `database_url`."""

    def __init__(
        self,
        database_url: str,
        workers: int | None = 3,
        env: dict | None = None,
        timeout: float = 30,
        access_log: str | Path | None = None,
        args: tuple[str, ...] = (),
    ):
        self.database_url = database_url
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = env or {}
        self.timeout = timeout
        self.access_log = access_log
        self.args = tuple(args)  # more gunicorn options, e.g. ("--access-logformat", "%(p)s %(U)s")
        self.process = None
        self._instance = tempfile.TemporaryDirectory(prefix="scheduler-live-")
        self.instance_dir = Path(self._instance.name)
        # A file, not a pipe: a pipe nobody reads fills up and blocks the workers' logging.
        self._log_file = tempfile.NamedTemporaryFile(prefix="live-server-", suffix=".log", delete=False)
        self._final_log = None

    def app_log(self) -> str:
        """What the app and gunicorn wrote to stderr so far (kept after stop)."""
        if self._final_log is not None:
            return self._final_log
        return Path(self._log_file.name).read_text(errors="replace")

    def environment(self) -> dict:
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": self.database_url,
                "SCHEDULER_INSTANCE_DIR": str(self.instance_dir),
                "RATELIMIT_ENABLED": "false",
                "SECRET_KEY": "live-server-test-key",
                "PUBLIC_BASE_URL": "https://scheduler.test",
                "MAIL_URL": "",
                "STRIPE_SECRET_KEY": "",
                "STRIPE_PUBLISHABLE_KEY": "",
                "STRIPE_WEBHOOK_SECRET": "",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self) -> "LiveServer":
        command = [
            _bin("gunicorn"),
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
        ]
        if self.workers is not None:
            command += ["--workers", str(self.workers)]
        if self.access_log is not None:
            command += ["--access-logfile", str(self.access_log)]
        self.process = subprocess.Popen(
            [*command, *self.args, "wsgi:app"],
            cwd=ROOT,
            env=self.environment(),
            stdout=subprocess.DEVNULL,
            stderr=self._log_file,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited: " + self.app_log()[-5000:])
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer /healthz within {self.timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # gunicorn's graceful shutdown
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._final_log is None:
            self._final_log = self.app_log()
            self._log_file.close()
            Path(self._log_file.name).unlink(missing_ok=True)

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def request(
    method: str, url: str, body: dict | None = None, headers: dict | None = None, timeout: float = 60, parse=True
) -> tuple[int, dict | str | int, float]:
    """One HTTP call: (status, parsed JSON or text, seconds taken); without `parse`, a success's
    body is read to the end but only its length given back (what a load generator does)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={**({"Content-Type": "application/json"} if data is not None else {}), **(headers or {})},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        return 0, str(error), time.perf_counter() - started
    elapsed = time.perf_counter() - started
    if not parse and 200 <= status < 400:
        return status, len(raw), elapsed
    try:
        return status, json.loads(raw), elapsed
    except ValueError:
        return status, raw.decode(errors="replace"), elapsed


def _call(job):
    return request(*job)


def fire(jobs: list[tuple], processes: int = 8) -> list[tuple]:
    """Run each (method, url, body, headers) from a pool of separate client processes, at once."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        # Warm every client process first, so that the calls themselves start together.
        pool.map(time.sleep, [0.05] * processes)
        return pool.map(_call, jobs, chunksize=1)


def run_jobs(database_url: str, count: int = 2, env: dict | None = None) -> list[dict]:
    """`flask --app wsgi jobs run-once` in `count` processes at once; each one's {job: result text}."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "live-server-test-key",
        "PUBLIC_BASE_URL": "https://scheduler.test",
        "MAIL_URL": "",
        "STRIPE_SECRET_KEY": "",
        **(env or {}),
    }
    with tempfile.TemporaryDirectory(prefix="scheduler-jobs-") as instance:
        environment.setdefault("SCHEDULER_INSTANCE_DIR", instance)
        procs = [
            subprocess.Popen(
                [_bin("flask"), "--app", "wsgi", "jobs", "run-once"],
                cwd=ROOT,
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(count)
        ]
        outputs = [p.communicate(timeout=300) for p in procs]
    results = []
    for (out, err), proc in zip(outputs, procs, strict=True):
        assert proc.returncode == 0, err.decode(errors="replace")[-3000:]
        results.append(dict(line.split(": ", 1) for line in out.decode().splitlines() if ": " in line))
    return results


def settle_requests(database_url: str, workers: int = 2) -> int:
    """Run the jobs in `workers` processes at once; how many public requests they handled in all."""
    return sum(int(printed["handle-public-requests"]) for printed in run_jobs(database_url, workers))
