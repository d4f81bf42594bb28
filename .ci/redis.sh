#!/usr/bin/env bash
# Makes sure a Redis server runs on 127.0.0.1 for the shared rate-limit tests, installing
# it from Debian's packages when missing, and prints a URL for TEST_REDIS_URL.
# Needs root to install (CI runs as root). Nothing is persisted: it holds test counters only.
set -euo pipefail

REDIS_PORT=${REDIS_PORT:-6379}

if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing Redis from Debian packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq redis-server >&2
fi

if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save '' --appendonly no \
    --dir /tmp --pidfile "/tmp/scheduler-test-redis-$REDIS_PORT.pid" \
    --logfile "/tmp/scheduler-test-redis-$REDIS_PORT.log" >&2
  for _ in $(seq 1 30); do
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
    sleep 0.2
  done
fi
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping | grep -q PONG

echo "redis://127.0.0.1:$REDIS_PORT/0"
