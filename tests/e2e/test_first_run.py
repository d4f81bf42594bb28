"""What a new user meets first: `make run` (its port, its demo data, its links), `make test`'s output, instance/.

The `make` tests run the real Makefile against a stand-in virtualenv whose python,
flask and gunicorn are this interpreter's, so nothing is installed.
"""

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from scheduler.cohorts.models import Cohort, Program
from scheduler.enrolment.models import Enrolment
from scheduler.foundation.extensions import db
from scheduler.staff.models import Staff
from tests.live_server import ROOT, LiveServer, free_port, request

pytestmark = pytest.mark.slow
FLASK = str(Path(sys.executable).parent / "flask")


def _snapshot(folder: Path):
    """Every file under folder with its size and modification time (None: no folder)."""
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def _count(model) -> int:
    db.session.rollback()  # a fresh snapshot: see what the other processes committed
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def venv(tmp_path):
    """A virtualenv folder for `make VENV=…` whose tools are this interpreter's, marked as installed."""
    root = tmp_path / "venv"
    (root / "bin").mkdir(parents=True)
    for name, module in (("python", ""), ("flask", "-m flask"), ("gunicorn", "-m gunicorn"), ("pip", "-m pip")):
        tool = root / "bin" / name
        tool.write_text(f'#!/bin/sh\nexec {sys.executable} {module} "$@"\n')
        tool.chmod(0o755)
    for stamp in (".installed-run", ".installed-dev"):
        (root / stamp).touch()  # newer than the requirements files: make installs nothing
    return root


def _make_env(database_url, instance, **extra) -> dict:
    unset = ("PUBLIC_BASE_URL", "MAIL_URL", "SECRET_KEY", "MAKEFLAGS", "MAKELEVEL")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    # A developer's machine: DATABASE_URL only points at the test database (production would
    # refuse to start without SECRET_KEY and an https PUBLIC_BASE_URL).
    env.update(DATABASE_URL=database_url, SCHEDULER_INSTANCE_DIR=str(instance), SCHEDULER_ENV="development", **extra)
    return env


def test_make_test_prints_the_postgresql_hint_once_and_ci_still_insists():
    env = {k: v for k, v in os.environ.items() if k not in ("TEST_POSTGRES_URL", "CI")}
    args = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests/integration"]
    local = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert local.returncode == 0, local.stdout + local.stderr
    assert local.stdout.count("TEST_POSTGRES_URL") == 1, local.stdout
    assert re.search(r"^\d+ PostgreSQL tests not run: set TEST_POSTGRES_URL=", local.stdout, re.M)
    assert "[postgresql]" not in local.stdout and "[sqlite]" in local.stdout
    # In CI the PostgreSQL half is collected, so that a missing server fails each of its tests loudly.
    ci = subprocess.run(args, cwd=ROOT, env={**env, "CI": "true"}, capture_output=True, text=True, timeout=300)
    assert "[postgresql]" in ci.stdout and "PostgreSQL tests not run" not in ci.stdout


def test_a_live_server_and_its_worker_write_nothing_under_the_repository_instance_folder(
    app, database_url, make_cohort, monkeypatch
):
    # LiveServer must keep away from instance/ by itself: the bench scripts use it outside the test suite.
    monkeypatch.delenv("SCHEDULER_INSTANCE_DIR")
    before = _snapshot(ROOT / "instance")
    cohort = make_cohort(price_amount=0)
    with LiveServer(database_url, workers=1) as server:
        status, body, _ = request(
            "POST", f"{server.url}/api/v1/cohorts/{cohort.id}/enrolments", {"name": "Sam", "email": "sam@example.org"}
        )
        assert status == 202 and body["status"] == "check_email", body
        env = server.environment()
        del env["SECRET_KEY"]  # a process without one keeps a generated key in its instance folder
        env["SCHEDULER_ENV"] = "development"  # (production refuses to start without one)
        jobs = subprocess.run(
            [FLASK, "--app", "wsgi", "jobs", "run-once"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert jobs.returncode == 0, jobs.stderr
        # The mail and the key went to the server's own instance folder …
        assert list((server.instance_dir / "mail").glob("*enrolment_confirmed*.eml"))
        assert (server.instance_dir / "secret_key").exists()
    # … and nothing appeared or changed under the repository's.
    assert _snapshot(ROOT / "instance") == before


def _demo(database_url, instance) -> str:
    env = _make_env(database_url, instance)
    run = subprocess.run([FLASK, "--app", "wsgi", "demo"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return re.search(r"Admin token \(shown once\): (stf_\S+)", run.stdout)[1]


def test_demo_seeds_once_and_gives_the_same_admin_a_fresh_token(app, client, database_url, tmp_path):
    first = _demo(database_url, tmp_path)
    second = _demo(database_url, tmp_path)
    assert first != second
    assert [_count(m) for m in (Staff, Program, Cohort, Enrolment)] == [1, 1, 1, 1]
    assert db.session.scalar(select(Staff.email)) == "admin@demo.invalid"
    # Only the hash is kept, so the new token replaces the old one.
    assert client.get("/api/v1/staff", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    assert client.get("/api/v1/staff", headers={"Authorization": f"Bearer {first}"}).status_code == 401


def test_make_run_on_a_taken_port_says_which_and_how_to_pick_another_and_creates_nothing(
    app, database_url, venv, tmp_path
):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run(
            ["make", "--no-print-directory", "run", f"VENV={venv}", f"PORT={port}"],
            cwd=ROOT,
            env=_make_env(database_url, tmp_path / "instance"),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in run.stderr
    assert re.search(r"pick another port: PORT=\d+ make run", run.stderr)
    assert "Admin token" not in run.stdout
    assert [_count(m) for m in (Staff, Program, Cohort, Enrolment)] == [0, 0, 0, 0]


def _wait_for(predicate, what, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_make_run_on_another_port_serves_there_and_its_emailed_links_point_there(app, database_url, venv, tmp_path):
    port, instance = free_port(), tmp_path / "instance"
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"VENV={venv}"],
        cwd=ROOT,
        env=_make_env(database_url, instance, PORT=str(port)),  # as in `PORT=8000 make run`
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for(lambda: request("GET", f"http://127.0.0.1:{port}/healthz", timeout=2)[0] == 200, "the server")
        home = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        home.request("GET", "/")
        answer = home.getresponse()
        assert answer.status == 200 and "Demo skills group" in answer.read().decode()  # the clinic's home page
        home.close()
        mail = _wait_for(lambda: list((instance / "mail").glob("*enrolment_confirmed*.eml")), "the demo's email")
        message = message_from_bytes(mail[0].read_bytes(), policy=policy.default)
        body = message.get_body(("plain",)).get_content()
        ours = re.findall(r"http://127\.0\.0\.1[^\s\"'<>]*", body)  # the manage link, the calendar feed
        assert ours and all(link.startswith(f"http://127.0.0.1:{port}/") for link in ours), body
        assert "127.0.0.1:5000" not in body and "127.0.0.1%3A5000" not in body
    finally:
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C
        try:
            output = make.communicate(timeout=30)[0].decode()
        except subprocess.TimeoutExpired:
            os.killpg(make.pid, signal.SIGKILL)
            output = make.communicate()[0].decode()
    assert "Admin token (shown once): stf_" in output
    assert f"Serving on http://127.0.0.1:{port}/" in output
