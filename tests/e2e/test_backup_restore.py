"""Backups and the restore drill (README, "Deploying"), on PostgreSQL: scripts/backup.sh dumps the
database, scripts/restore_drill.sh restores the newest dump into a scratch database, checks it and
drops it. Run as an operator would, in subprocesses, against the test database."""

import os
import re
import shutil
import subprocess

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from scheduler.foundation.extensions import db
from tests.helpers import enrolled
from tests.live_server import ROOT

pytestmark = pytest.mark.slow

# pg_dump and pg_restore work on PostgreSQL only: this file takes only the PostgreSQL database.
postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _tools():
    missing = [tool for tool in ("pg_dump", "pg_restore", "psql") if not shutil.which(tool)]
    if missing:
        message = f"{', '.join(missing)} not installed (Debian: apt-get install postgresql-client)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def _run(script, database_url, backup_dir, *args):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DATABASE_URL": database_url,
        "BACKUP_DIR": str(backup_dir),
    }
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / script), *args], env=env, capture_output=True, text=True, timeout=120
    )


def _scratch_databases_left(database_url, name):
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone()[0]


@postgresql_only
def test_a_backup_restores_in_the_drill_with_the_enrolment_in_it(database_url, client, auth, make_cohort, tmp_path):
    _tools()
    cohort = make_cohort(price_amount=0)
    enrolment = enrolled(client, cohort, "sam@example.org", headers=auth("front_desk"))
    assert enrolment["status"] == "confirmed", enrolment
    head = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    db.session.rollback()  # nothing of this session's open while the scripts run
    password = make_url(database_url).password

    backup = _run("backup.sh", database_url, tmp_path)
    assert backup.returncode == 0, backup.stderr
    dump = backup.stdout.strip()
    assert re.fullmatch(re.escape(str(tmp_path)) + r"/scheduler-\d{8}T\d{6}Z\.dump", dump), backup.stdout
    assert os.path.getsize(dump) > 0 and os.stat(dump).st_mode & 0o077 == 0  # the owner's only: personal data

    drill = _run("restore_drill.sh", database_url, tmp_path)
    output = drill.stdout + drill.stderr
    assert drill.returncode == 0, output
    assert "restore drill: passed" in drill.stdout
    assert f"dump {dump}" in drill.stdout  # the newest dump
    assert f"check alembic version: {head}, the same as the source's" in drill.stdout
    assert re.search(r"check tables: \d+ tables, the same as the source's", drill.stdout)
    # The enrolment made above is in the restored copy.
    rows = dict(re.findall(r"^  (\w+) +(\d+) rows$", drill.stdout, re.M))
    assert rows["enrolments"] == "1" and rows["participants"] == "1" and rows["cohorts"] == "1", drill.stdout
    dropped = re.search(r"dropped the scratch database (\w+)", drill.stdout)
    assert dropped and _scratch_databases_left(database_url, dropped[1]) == 0, output
    # Never the URL, never the password.
    for said in (backup.stdout + backup.stderr, output):
        assert database_url not in said and f":{password}@" not in said


@postgresql_only
def test_the_drill_fails_on_a_dump_that_does_not_restore_and_still_drops_its_scratch_database(database_url, tmp_path):
    _tools()
    (tmp_path / "scheduler-29991231T000000Z.dump").write_bytes(b"PGDMP not really a dump")
    drill = _run("restore_drill.sh", database_url, tmp_path)
    assert drill.returncode != 0
    assert "restore drill: FAILED" in drill.stderr and "restore drill: passed" not in drill.stdout
    dropped = re.search(r"dropped the scratch database (\w+)", drill.stdout)
    assert dropped and _scratch_databases_left(database_url, dropped[1]) == 0, drill.stdout + drill.stderr


def test_a_failed_backup_exits_non_zero_writes_nothing_and_never_prints_the_password(tmp_path):
    _tools()
    url = "postgresql://someone:Sup3r-s3cret-pw@127.0.0.1:9/scheduler"  # nothing listens on port 9
    backup = _run("backup.sh", url, tmp_path)
    assert backup.returncode != 0
    assert "no backup written" in backup.stderr
    assert "Sup3r-s3cret-pw" not in backup.stdout + backup.stderr
    assert list(tmp_path.iterdir()) == []
