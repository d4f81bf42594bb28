"""The README's curl walk-through, run as written against a real server seeded by `flask demo`."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live_server import ROOT, LiveServer

pytestmark = pytest.mark.slow


def _walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## A first cohort with curl", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S)[1]


def test_readme_curl_walkthrough(database_url, app):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "readme-test",
        "PUBLIC_BASE_URL": "https://scheduler.test",
    }
    flask = str(Path(sys.executable).parent / "flask")
    demo = subprocess.run(
        [flask, "--app", "wsgi", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert demo.returncode == 0, demo.stderr
    token = re.search(r"Admin token \(shown once\): (stf_\S+)", demo.stdout)[1]
    script = _walkthrough()
    assert "TOKEN=stf_paste_the_token_here" in script and "http://127.0.0.1:5000" in script
    with LiveServer(database_url, workers=1) as server:
        script = script.replace("stf_paste_the_token_here", token).replace("http://127.0.0.1:5000", server.url)
        run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    documents = [
        json.loads(line)
        for line in run.stdout.replace("}[", "}\n[").replace("]{", "]\n{").replace("}{", "}\n{").splitlines()
        if line.strip()
    ]
    cohort, public, refused = documents
    assert cohort["status"] == "open" and len(cohort["sessions"]) == 12
    assert {s["local_start"][11:19] for s in cohort["sessions"]} == {"18:00:00"}
    assert cohort["sessions"][0]["starts_at"] == "2030-10-03T22:00:00Z"
    assert cohort["sessions"][5]["starts_at"] == "2030-11-07T23:00:00Z"
    assert "2030-11-28" not in {s["local_start"][:10] for s in cohort["sessions"]}
    assert cohort["id"] in {c["id"] for c in public} and all("meeting_url" not in c for c in public)
    assert refused["status"] == 422 and {"start_date", "timezone", "start_time"} <= set(refused["errors"])
