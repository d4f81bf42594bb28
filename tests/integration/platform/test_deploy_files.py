"""The files that deploy the service: compose.yaml, the Dockerfile, .env.example, requirements.lock.

These machines have no container engine, so the image is never built here. What is checked
instead: the files parse and say what README's "Deploying" says they do, no secret is committed,
and the image's entry points (the Dockerfile's CMD, compose's worker and migrate commands) work
as commands, run from this checkout with the variables compose sets, against a scratch SQLite
database: migrate, serve (ready, an enrolment taken), the jobs pass (its email delivered).
"""

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests.live_server import free_port

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
APP_SERVICES = ("migrate", "web", "worker")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$")
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")


# ---- reading the files -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order: comments dropped, continued lines joined."""
    lines = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    split = [line.split(None, 1) for line in joined.splitlines() if line.strip()]
    return [(instruction.upper(), rest.strip()) for instruction, rest in split]


def _stages() -> list[dict]:
    """Each build stage: its base image (ARGs resolved), its name and its instructions."""
    args, stages = {}, []
    for instruction, rest in _dockerfile_instructions():
        if instruction == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif instruction == "FROM":
            image, _, name = rest.partition(" AS ")
            image = re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], image.strip())
            stages.append({"image": image, "name": name.strip(), "instructions": []})
        else:
            stages[-1]["instructions"].append((instruction, rest))
    return stages


def _env_example() -> dict:
    """.env.example's variables, commented-out examples included (name -> [values])."""
    found = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if match:
            found.setdefault(match[1], []).append(match[2])
    return found


def _app_environment(compose) -> dict:
    environment = compose["services"]["web"]["environment"]
    for name in APP_SERVICES:
        assert compose["services"][name]["environment"] == environment, f"{name} runs with other settings"
    return environment


def _url(value: str):
    """A URL of compose.yaml, each ${NAME…} in it read as the marker `from-env-NAME`."""
    return urlsplit(INTERPOLATION.sub(lambda m: f"from-env-{m[1]}", value))


def _default(value: str) -> str:
    """What compose puts for ${NAME:-default} when NAME is not set."""
    return INTERPOLATION.sub(lambda m: re.match(r"\$\{\w+:?-([^}]*)\}", m[0])[1] if ":-" in m[0] else "", value)


# ---- compose.yaml ------------------------------------------------------------------------------


def test_compose_has_every_process_and_the_services_they_need(compose):
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "mailpit"} <= set(services)
    postgres = services["postgres"]
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in compose["volumes"], "PostgreSQL's data lives in a named volume"
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert "ping" in services["redis"]["healthcheck"]["test"]
    assert any(str(port).endswith(":5000") for port in services["web"]["ports"])
    assert "mailpit" in services["mailpit"]["image"] and any("8025" in str(p) for p in services["mailpit"]["ports"])
    # Every image is pinned to a version, never `latest` (the app's own image is built here).
    for name, service in services.items():
        if "build" not in service:
            assert re.search(r":v?\d", service["image"]), f"{name}: {service['image']} is not pinned"


def test_web_and_worker_share_one_build_and_the_release_step_runs_first(compose):
    services = compose["services"]
    web, worker, migrate = (services[name] for name in ("web", "worker", "migrate"))
    assert web["build"] == worker["build"] == migrate["build"] == "."
    assert web["image"] == worker["image"] == migrate["image"]
    assert migrate["command"] == ["flask", "--app", "wsgi", "db", "upgrade"]
    assert migrate["restart"] == "no"  # one-shot
    assert worker["command"] == ["flask", "--app", "wsgi", "worker"]
    assert "command" not in web  # the image's CMD: gunicorn
    for service in (web, worker):
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_the_app_reads_the_database_redis_and_the_mail_catcher_from_compose(compose):
    environment = _app_environment(compose)
    database = _url(environment["DATABASE_URL"])
    assert database.scheme == "postgresql" and database.hostname == "postgres"
    assert database.path == "/" + compose["services"]["postgres"]["environment"]["POSTGRES_DB"]
    assert database.username == compose["services"]["postgres"]["environment"]["POSTGRES_USER"]
    assert database.password == "from-env-POSTGRES_PASSWORD"  # the one PostgreSQL is started with
    assert compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD")
    assert urlsplit(environment["RATELIMIT_STORAGE_URI"]).scheme == "redis"
    assert urlsplit(environment["RATELIMIT_STORAGE_URI"]).hostname == "redis"
    # Unless .env names a relay, mail goes to the catcher's SMTP port. The worker (the one process
    # that sends) shares the catcher's network, so it is on the worker's loopback, where the app
    # allows SMTP without STARTTLS (scheduler/notifications/transports.py).
    mail = urlsplit(_default(environment["MAIL_URL"]))
    assert mail.scheme == "smtp" and mail.port == 1025
    assert mail.hostname in ("localhost", "127.0.0.1")
    assert compose["services"]["worker"]["network_mode"] == "service:mailpit"
    assert environment["SCHEDULER_ENV"].startswith("${SCHEDULER_ENV:-production")


def test_every_variable_compose_sets_is_one_the_app_reads(compose):
    read = (ROOT / "scheduler" / "foundation" / "config.py").read_text() + (ROOT / "gunicorn.conf.py").read_text()
    for name in _app_environment(compose):
        assert f'"{name}"' in read or f"'{name}'" in read, f"compose sets {name}, which nothing reads"
    # And every variable compose takes from .env is explained in .env.example.
    documented = _env_example()
    used = set(INTERPOLATION.findall((ROOT / "compose.yaml").read_text()))
    assert used <= set(documented), f"not in .env.example: {sorted(used - set(documented))}"


def test_no_secret_is_committed(compose):
    """Secrets come from .env, which the operator writes: compose and .env.example hold none."""
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            value = str(value)
            if SECRET_NAME.search(key):
                assert INTERPOLATION.fullmatch(value), f"{name}: {key} is written in compose.yaml"
                assert _default(value) == "", f"{name}: {key} has a default value in compose.yaml"
            password = _url(value).password if "://" in value else None
            if password is not None:
                assert re.fullmatch(r"from-env-\w+", password), f"{name}: {key} has a password written in compose.yaml"
    for key, values in _env_example().items():
        if SECRET_NAME.search(key):
            for value in values:
                assert value == "" or "change-me" in value, f".env.example gives {key} a value"
        for value in values:
            if "://" in value and urlsplit(value).password:
                assert "change-me" in urlsplit(value).password, f".env.example: {key} has a password"
    # The build context is an allow-list: .env, instance/ and backups/ never reach an image.
    ignore = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    patterns = [line for line in ignore if line and not line.startswith("#")]
    assert patterns[0] == "*", ".dockerignore excludes everything first, then lets in what the image needs"
    assert not any(re.match(r"!\s*/?(\.env|instance|backups)", line) for line in patterns)


# ---- the Dockerfile ----------------------------------------------------------------------------


def test_the_dockerfile_builds_in_stages_from_a_pinned_base_and_runs_as_a_user_not_root():
    stages = _stages()
    assert len(stages) >= 2 and stages[0]["name"] == "builder"
    for stage in stages:
        image = stage["image"]
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", image) or (
            "@sha256:" in image
        ), f"base image {image} is not pinned to an exact release"
    builder, runtime = stages[0], stages[-1]
    builder_runs = " ".join(rest for instruction, rest in builder["instructions"] if instruction == "RUN")
    assert "--require-hashes" in builder_runs and "-r requirements.lock" in builder_runs
    assert any(i == "COPY" and rest.startswith("--from=builder") for i, rest in runtime["instructions"])
    users = [rest for instruction, rest in runtime["instructions"] if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the final stage must not run as root"
    cmd = [rest for instruction, rest in runtime["instructions"] if instruction == "CMD"]
    assert json.loads(cmd[-1]) == ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]


def test_everything_the_dockerfile_copies_exists_and_is_in_the_build_context():
    allowed = {
        line[1:].strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    for stage in _stages():
        for instruction, rest in stage["instructions"]:
            if instruction != "COPY" or rest.startswith("--from="):
                continue
            *sources, _target = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: no such file"
                assert source.rstrip("/") in allowed, f"COPY {source}: excluded by .dockerignore"


# ---- requirements.lock -------------------------------------------------------------------------


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()


def test_the_lock_file_pins_every_requirement_at_the_same_version_with_hashes():
    wanted = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            wanted[_normalised(name)] = version.strip()
    locked, hashed = {}, set()
    current = None
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._\[\]-]*)==(\S+)", line)
        if match:
            current = _normalised(match[1])
            locked[current] = match[2]
        elif line.strip().startswith("--hash=sha256:") and current:
            hashed.add(current)
    assert wanted, "requirements.txt lists nothing"
    for name, version in wanted.items():
        assert locked.get(name) == version, f"{name}: {version} in requirements.txt, {locked.get(name)} in the lock"
    assert set(locked) == hashed, f"without a hash: {sorted(set(locked) - hashed)}"


# ---- the entry points, without the container -----------------------------------------------------


def _local_values(tmp_path, smtp_url) -> dict:
    """A value on this machine for each variable compose sets (the same names, local places)."""
    return {
        "SCHEDULER_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'scheduler.db'}",
        "PUBLIC_BASE_URL": "https://groups.example.org",
        "RATELIMIT_STORAGE_URI": os.environ.get("TEST_REDIS_URL") or "memory://",
        "MAIL_URL": smtp_url,
        "MAIL_FROM": "Group programs <groups@example.org>",
        "METRICS_TOKEN": secrets.token_urlsafe(24),
        "LOG_FORMAT": "json",
    }


def _command(argv: list[str]) -> list[str]:
    """The image's command run from this checkout's virtual environment."""
    executable = BIN / argv[0]
    return [str(executable if executable.exists() else argv[0]), *argv[1:]]


def _call(url, method="GET", body=None, headers=None):
    request = urllib.request.Request(
        url, method=method, data=None if body is None else json.dumps(body).encode(), headers=headers or {}
    )
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.slow
def test_the_image_entry_points_migrate_serve_and_deliver_with_the_compose_variables(compose, tmp_path, smtp_server):
    environment = _app_environment(compose)
    values = _local_values(tmp_path, smtp_server.url)
    assert set(environment) <= set(values), f"give a local value for {sorted(set(environment) - set(values))}"
    (tmp_path / "instance").mkdir()
    (tmp_path / "metrics").mkdir()
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "SCHEDULER_INSTANCE_DIR": str(tmp_path / "instance"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "RATELIMIT_KEY_PREFIX": "scheduler-test-" + secrets.token_hex(6),
        **{name: values[name] for name in environment},
    }

    def run(argv):
        done = subprocess.run(_command(argv), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{argv}: {done.stderr}"
        return done

    # The release step, twice (a deploy that changes no migration runs it too).
    migrate = compose["services"]["migrate"]["command"]
    run(migrate)
    run(migrate)
    create_admin = "flask --app wsgi staff create --email admin@clinic.test --name Admin --role admin".split()
    token = re.search(r"Token \(shown once, store it now\): (\S+)", run(create_admin).stdout)[1]
    run([*compose["services"]["worker"]["command"], "--help"])  # the worker's command exists

    # The web: the Dockerfile's CMD, on a loopback port rather than every interface.
    port = free_port()
    cmd = json.loads([rest for i, rest in _stages()[-1]["instructions"] if i == "CMD"][-1])
    web = subprocess.Popen(
        _command([*cmd, "--bind", f"127.0.0.1:{port}"]),
        cwd=ROOT,
        env={**env, "PORT": str(port), "WEB_CONCURRENCY": "1"},
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "web.log", "w"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline and status != 200:
            try:
                status, body = _call(base + "/readyz")
            except OSError:
                time.sleep(0.2)
        assert status == 200, (tmp_path / "web.log").read_text()
        ready = json.loads(body)
        assert ready["migrations"] == "ok"
        assert ready["redis"] == ("ok" if values["RATELIMIT_STORAGE_URI"].startswith("redis") else "not used")
        staff = {"Authorization": f"Bearer {token}"}
        assert _call(base + "/metrics", headers={"Authorization": f"Bearer {values['METRICS_TOKEN']}"})[0] == 200
        status, program = _call(
            base + "/api/v1/programs",
            "POST",
            {
                "name": "Skills group",
                "default_session_count": 4,
                "default_duration_minutes": 90,
                "default_capacity": 10,
                "price_amount": 0,
                "currency": "usd",
            },
            staff,
        )
        assert status == 201, program
        status, cohort = _call(
            base + "/api/v1/cohorts",
            "POST",
            {
                "program_id": json.loads(program)["id"],
                "start_date": "2031-10-02",
                "start_time": "18:00",
                "timezone": "America/New_York",
                "meeting_url": "https://video.example/j/123",
                "status": "open",
            },
            staff,
        )
        assert status == 201, cohort
        cohort_id = json.loads(cohort)["id"]
        status, answer = _call(
            f"{base}/api/v1/cohorts/{cohort_id}/enrolments", "POST", {"name": "Sam Rivera", "email": "sam@example.org"}
        )
        assert status == 202, answer

        # The worker's pass delivers the email that the enrolment's answer promised.
        run(["flask", "--app", "wsgi", "jobs", "run-once"])
        assert [m.rcpt_tos for m in smtp_server.messages] == [["sam@example.org"]]
    finally:
        web.send_signal(signal.SIGTERM)
        try:
            stopped = web.wait(timeout=15)
        except subprocess.TimeoutExpired:
            web.kill()
            raise
    assert stopped == 0, (tmp_path / "web.log").read_text()
