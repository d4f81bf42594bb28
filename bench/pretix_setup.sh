#!/usr/bin/env bash
# pretix 2026.8.0 beside the scheduler, for bench/pretix_burst.py (a manual comparison; pretix is
# not a dependency of the project and nothing here touches the repository's venv or databases).
#
#   bash bench/pretix_setup.sh install   # venv + pretix + config + database + fixtures (as root)
#   bash bench/pretix_setup.sh start     # gunicorn, 4 sync workers, on 127.0.0.1:$PRETIX_PORT
#   bash bench/pretix_setup.sh stop      # stops that gunicorn (by its pid file)
#   bash bench/pretix_setup.sh status
#
# Everything lives under $PRETIX_BENCH_DIR (default /opt/pretix-bench):
#   venv/                  python3 -m venv; pip install pretix==2026.8.0 gunicorn
#   pretix.cfg             PostgreSQL on 127.0.0.1 (role and database pretix_bench); the local
#                          Redis as cache (database $PRETIX_REDIS_DB: without a cache pretix's
#                          /healthcheck/ answers 503, and Redis is its documented setup); no
#                          Celery (pretix then runs its tasks inside the request)
#   bench_settings.py      pretix.settings with mail to Django's dummy backend (pretix.cfg has
#                          no key for the backend; it would otherwise try SMTP on localhost:25)
#   data/                  pretix's data dir (logs, media)
#   bench.env              what the bench reads: PRETIX_URL, PRETIX_TOKEN, PRETIX_ORGANIZER, PRETIX_EVENT
#   gunicorn.pid, gunicorn.log
#
# `install` is idempotent: it creates the role and database only when missing, migrates, and
# gets-or-creates the organizer `bench`, its live event `burst`, an item "Seat" with a quota of
# 12, and a team with every permission and one API token. The bench itself creates a fresh item
# and 12-seat quota per run through the API, so that every run starts from 12 free seats.
set -euo pipefail

DIR=${PRETIX_BENCH_DIR:-/opt/pretix-bench}
PORT=${PRETIX_PORT:-8751}
PRETIX_REDIS_DB=${PRETIX_REDIS_DB:-13}  # a database of the local Redis nobody else uses
VERSION=2026.8.0
PY=$DIR/venv/bin/python
export PRETIX_CONFIG_FILE=$DIR/pretix.cfg
export DJANGO_SETTINGS_MODULE=bench_settings
export PYTHONPATH=$DIR

install() {
    mkdir -p "$DIR/data"
    [ -x "$PY" ] || python3 -m venv "$DIR/venv"
    "$DIR/venv/bin/pip" install -q "pretix==$VERSION" gunicorn

    cat >"$DIR/pretix.cfg" <<EOF
[pretix]
instance_name=pretix bench
url=http://127.0.0.1:$PORT
currency=USD
datadir=$DIR/data
ecb_rates=off

[django]
secret=pretix-bench-only-not-a-secret
debug=off

[database]
backend=postgresql
name=pretix_bench
user=pretix_bench
password=pretix_bench
host=127.0.0.1
port=5432

[redis]
location=redis://127.0.0.1:6379/$PRETIX_REDIS_DB

[mail]
from=pretix@bench.test
host=127.0.0.1
port=25
EOF
    cat >"$DIR/bench_settings.py" <<'EOF'
from pretix.settings import *  # noqa: F401,F403

EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
EMAIL_CUSTOM_SMTP_BACKEND = EMAIL_BACKEND
EOF

    su postgres -c psql <<'EOF'
SELECT 'CREATE ROLE pretix_bench LOGIN PASSWORD ''pretix_bench'''
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pretix_bench')\gexec
SELECT 'CREATE DATABASE pretix_bench OWNER pretix_bench'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'pretix_bench')\gexec
EOF

    (cd "$DIR" && "$PY" -m pretix migrate --noinput)

    (cd "$DIR" && "$PY" -m pretix shell) <<EOF
from decimal import Decimal
from django.utils.timezone import now
from django_scopes import scopes_disabled
from pretix.base.models import Event, Item, Organizer, Quota, Team

with scopes_disabled():
    org, _ = Organizer.objects.get_or_create(slug="bench", defaults={"name": "Bench organizer"})
    event, _ = Event.objects.get_or_create(
        organizer=org,
        slug="burst",
        defaults={"name": "Bench burst", "currency": "USD", "date_from": now().replace(year=2031)},
    )
    event.live = True
    event.save()
    item, _ = Item.objects.get_or_create(
        event=event, internal_name="bench-seat", defaults={"name": "Seat", "default_price": Decimal("360.00")}
    )
    quota, _ = Quota.objects.get_or_create(event=event, name="Seats", defaults={"size": 12})
    quota.items.add(item)
    team, _ = Team.objects.get_or_create(
        organizer=org,
        name="Bench API",
        defaults={"all_events": True, "all_event_permissions": True, "all_organizer_permissions": True},
    )
    token = team.tokens.filter(active=True).first() or team.tokens.create(name="bench")
    with open("$DIR/bench.env", "w") as env:
        env.write(f"PRETIX_URL=http://127.0.0.1:$PORT\n")
        env.write(f"PRETIX_TOKEN={token.token}\n")
        env.write(f"PRETIX_ORGANIZER={org.slug}\nPRETIX_EVENT={event.slug}\n")
    print("organizer", org.slug, "event", event.slug, "item", item.pk, "quota", quota.pk, "size", quota.size)
EOF
    echo "pretix $VERSION installed in $DIR; start it with: bash $0 start"
}

running() {
    [ -f "$DIR/gunicorn.pid" ] && kill -0 "$(cat "$DIR/gunicorn.pid")" 2>/dev/null
}

start() {
    if running; then
        echo "already running (pid $(cat "$DIR/gunicorn.pid"))"
        return
    fi
    (cd "$DIR" && "$DIR/venv/bin/gunicorn" pretix.wsgi:application \
        --workers 4 --worker-class sync --bind "127.0.0.1:$PORT" --timeout 60 \
        --env DJANGO_SETTINGS_MODULE=bench_settings \
        --pid "$DIR/gunicorn.pid" --log-file "$DIR/gunicorn.log" --daemon)
    for _ in $(seq 1 60); do
        if curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthcheck/"; then
            echo "pretix serving on http://127.0.0.1:$PORT (pid $(cat "$DIR/gunicorn.pid"))"
            return
        fi
        sleep 0.5
    done
    echo "pretix did not answer /healthcheck/; see $DIR/gunicorn.log" >&2
    exit 1
}

stop() {
    if [ -f "$DIR/gunicorn.pid" ]; then
        pid=$(cat "$DIR/gunicorn.pid")
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        rm -f "$DIR/gunicorn.pid"
        echo "stopped (pid $pid)"
    else
        echo "not running"
    fi
}

status() {
    if running; then
        echo "running (pid $(cat "$DIR/gunicorn.pid")) on http://127.0.0.1:$PORT"
    else
        echo "not running"
    fi
}

case "${1:-}" in
    install | start | stop | status) "$1" ;;
    *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
