# syntax=docker/dockerfile:1
# One image for every process of the service (README, "Deploying"):
#   web      the default command: gunicorn -c gunicorn.conf.py wsgi:app (listens on $PORT, 5000)
#   worker   flask --app wsgi worker
#   release  flask --app wsgi db upgrade (run once per deploy, before the new web and worker start)
#
#   docker build -t scheduler .            (or: podman build -t scheduler .)
#
# The base is pinned to an exact Python release on Debian 12 (bookworm), as CI's machines are.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# ---- builder: the runtime dependencies, from the hashed lock file only -------------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /build
COPY requirements.lock ./
# Every file pip fetches must match a hash in requirements.lock (pip-compile --generate-hashes):
# wheels are built (or taken as published) once here, checked, and installed into a virtual
# environment that the runtime stage copies as it is. No compiler reaches the runtime image.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip wheel --require-hashes --wheel-dir /wheels -r requirements.lock \
 && /opt/venv/bin/pip install --no-index --find-links /wheels --no-deps /wheels/*.whl \
 && /opt/venv/bin/pip check

# ---- runtime ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=5000 \
    SCHEDULER_INSTANCE_DIR=/var/lib/scheduler

# The processes run as this user, never as root; the code is root's and read-only to them.
RUN groupadd --system --gid 10001 scheduler \
 && useradd --system --uid 10001 --gid scheduler --home-dir /var/lib/scheduler --shell /usr/sbin/nologin scheduler \
 && install -d -o scheduler -g scheduler -m 0700 /var/lib/scheduler

COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY wsgi.py gunicorn.conf.py ./
COPY migrations ./migrations
COPY scheduler ./scheduler
RUN python -m compileall -q /app/scheduler /app/migrations /app/wsgi.py /app/gunicorn.conf.py

USER scheduler:scheduler
EXPOSE 5000
# gunicorn stops gracefully within 8 s of SIGTERM (gunicorn.conf.py), inside the 10 s runtimes wait.
STOPSIGNAL SIGTERM
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
