#!/usr/bin/env bash
# Makes sure a PostgreSQL server runs on 127.0.0.1 for the tests, installing it from
# Debian's packages when missing, and prints a URL for TEST_POSTGRES_URL.
# Needs root (CI runs as root). The test role is a throwaway, local-only one.
set -euo pipefail

PGPORT=${PGPORT:-5432}
ROLE=scheduler_test
PASSWORD=scheduler_test

if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  echo "installing PostgreSQL from Debian packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  pg_createcluster "$version" main -p "$PGPORT" >&2
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
  pg_ctlcluster "$version" main start >&2
fi
port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')

for _ in $(seq 1 30); do
  su postgres -c "psql -p $port -qtAc 'SELECT 1'" >/dev/null 2>&1 && break
  sleep 1
done
su postgres -c "psql -p $port -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='$ROLE'\"" | grep -q 1 ||
  su postgres -c "psql -p $port -qc \"CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'\"" >&2

echo "postgresql://$ROLE:$PASSWORD@127.0.0.1:$port/postgres"
