#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# A restore drill: proves the newest backup restores. Restores it (or the dump named as the first
# argument) into a scratch database on the same server as DATABASE_URL, checks it, prints what it
# checked, and drops the scratch database whatever happened.
#
#   DATABASE_URL=postgresql://user:password@host:5432/db scripts/restore_drill.sh [dump]
#   docker compose run --rm backup scripts/restore_drill.sh
#
# The newest dump is the newest $BACKUP_DIR/scheduler-*.dump (BACKUP_DIR: backups/), as
# scripts/backup.sh names them. Checks: pg_restore restores every object without an error; the
# restored database has the same tables as the source; its Alembic version (the schema's
# migration) equals the source's; and the rows of each table, counted and printed. Exits 0 and
# prints "restore drill: passed" when every check holds, else non-zero with the failed check.
# The DATABASE_URL user must be allowed to create databases (compose's "scheduler" user is).
# The source database is only read. The password is never printed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=backup.sh
source "$here/backup.sh" # its helpers: pg_environment_from_url, described

fail() {
  echo "restore drill: FAILED: $*" >&2
  exit 1
}

[[ -n ${DATABASE_URL:-} ]] || fail "set DATABASE_URL (postgresql://user:password@host:5432/db)."
for tool in psql pg_restore; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (Debian: apt-get install postgresql-client)."
done
pg_environment_from_url "$DATABASE_URL"
source_db=$PGDATABASE

dump=${1:-}
if [[ -z $dump ]]; then
  backup_dir=${BACKUP_DIR:-backups}
  shopt -s nullglob
  dumps=("$backup_dir"/scheduler-*.dump)
  shopt -u nullglob
  ((${#dumps[@]})) || fail "no backup in $backup_dir/ (scripts/backup.sh writes them)."
  # The names carry the UTC time they were taken: the last in order is the newest.
  dump=$(printf '%s\n' "${dumps[@]}" | sort | tail -n 1)
fi
[[ -r $dump ]] || fail "cannot read $dump."

# psql on a database of the server, quiet, stopping at the first error; -At: bare values.
sql() {
  local database=$1
  shift
  psql --no-password --no-psqlrc -v ON_ERROR_STOP=1 -X -q -At --dbname="$database" "$@"
}

scratch="scheduler_restore_drill_$(date -u +%Y%m%d%H%M%S)_$$"
drop_scratch() {
  # A plain DROP first: it stops autovacuum (busy on a just-restored database), which a user who is
  # not a superuser may not terminate WITH (FORCE). Nothing else of the drill's is connected now.
  local attempt
  for attempt in 1 2 3 4 5; do
    if sql "$source_db" -c "DROP DATABASE IF EXISTS \"$scratch\"" >/dev/null 2>&1 ||
      { [[ $attempt == 5 ]] && sql "$source_db" -c "DROP DATABASE IF EXISTS \"$scratch\" WITH (FORCE)" >/dev/null; }; then
      echo "restore drill: dropped the scratch database $scratch"
      return
    fi
    sleep 1
  done
  echo "restore drill: could not drop the scratch database $scratch; drop it by hand" >&2
}

echo "restore drill: dump $dump ($(wc -c <"$dump" | tr -d ' ') bytes)"
echo "restore drill: source $(described)"
sql "$source_db" -c "CREATE DATABASE \"$scratch\"" >/dev/null || fail "could not create a scratch database."
trap drop_scratch EXIT
echo "restore drill: restoring into the scratch database $scratch"
# --no-owner/--no-acl: restored as the drill's user, whoever owned the objects at the source.
pg_restore --no-password --no-owner --no-acl --exit-on-error --dbname="$scratch" "$dump" ||
  fail "pg_restore could not restore $dump."
echo "check restore: pg_restore restored every object without an error"

tables_of() {
  sql "$1" -c "SELECT table_name FROM information_schema.tables
               WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
}
restored_tables=$(tables_of "$scratch")
source_tables=$(tables_of "$source_db")
[[ -n $restored_tables ]] || fail "the restored database has no table."
if [[ $restored_tables != "$source_tables" ]]; then
  echo "  only in the source: $(comm -13 <(echo "$restored_tables") <(echo "$source_tables") | tr '\n' ' ')" >&2
  echo "  only in the dump:   $(comm -23 <(echo "$restored_tables") <(echo "$source_tables") | tr '\n' ' ')" >&2
  fail "the restored tables differ from the source's (a migration since this backup? take a new one)."
fi
echo "check tables: $(echo "$restored_tables" | wc -l | tr -d ' ') tables, the same as the source's"

version_of() {
  sql "$1" -c "SELECT coalesce(string_agg(version_num, ',' ORDER BY version_num), '') FROM alembic_version"
}
restored_version=$(version_of "$scratch") || fail "the restored database has no alembic_version table."
source_version=$(version_of "$source_db") || fail "the source database has no alembic_version table."
[[ -n $restored_version ]] || fail "the restored database records no migration."
[[ $restored_version == "$source_version" ]] ||
  fail "the restored schema is at migration $restored_version, the source at $source_version (take a new backup)."
echo "check alembic version: $restored_version, the same as the source's"

# One query: each table's count(*), through query_to_xml (no dynamic SQL in the shell).
counts=$(sql "$scratch" -F ' ' -c "
  SELECT table_name,
         (xpath('/row/n/text()',
                query_to_xml(format('SELECT count(*) AS n FROM %I.%I', table_schema, table_name), false, true, '')
         ))[1]::text
  FROM information_schema.tables
  WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
  ORDER BY table_name") || fail "could not count the restored rows."
echo "check rows: counted in every restored table"
while read -r table rows; do
  printf '  %-28s %s rows\n' "$table" "$rows"
done <<<"$counts"
echo "restore drill: passed"
