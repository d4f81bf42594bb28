#!/usr/bin/env bash
# Back up the service's PostgreSQL database: one pg_dump in custom format (-Fc, what pg_restore
# reads) of DATABASE_URL, written to $BACKUP_DIR/scheduler-<UTC time>.dump (BACKUP_DIR: backups/).
#
#   DATABASE_URL=postgresql://user:password@host:5432/db scripts/backup.sh
#   docker compose run --rm backup                  (compose.yaml: the same, beside the database)
#
# Prints the file it wrote and exits 0; on any failure prints why and exits non-zero, leaving no
# partial file behind. Never prints the password: it reaches pg_dump through PGPASSWORD, not its
# command line. The dump holds every participant's data: it is readable by its owner only; keep it
# encrypted and off this machine (scripts/restore_drill.sh checks that it restores).
set -euo pipefail
umask 077

fail() {
  echo "backup: $*" >&2
  exit 1
}

# Split DATABASE_URL into libpq's variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE), so
# the password never appears in a command line, a process list or a message.
pg_environment_from_url() {
  local url=$1 rest userinfo hostport
  url=${url/#postgres:\/\//postgresql://}
  url=${url/#postgresql+psycopg:\/\//postgresql://}
  url=${url/#postgresql+psycopg2:\/\//postgresql://}
  [[ $url == postgresql://* ]] || fail "DATABASE_URL must be a postgresql:// URL (this script backs up PostgreSQL only)."
  rest=${url#postgresql://}
  rest=${rest%%\?*} # query parameters (sslmode=…) are left to PGSSLMODE and the like
  if [[ $rest == *@* ]]; then
    userinfo=${rest%@*}
    rest=${rest##*@}
    PGUSER=$(percent_decode "${userinfo%%:*}")
    if [[ $userinfo == *:* ]]; then
      PGPASSWORD=$(percent_decode "${userinfo#*:}")
      export PGPASSWORD
    fi
    export PGUSER
  fi
  hostport=${rest%%/*}
  PGDATABASE=$(percent_decode "${rest#*/}")
  [[ $rest == */* && -n $PGDATABASE ]] || fail "DATABASE_URL names no database."
  local port=""
  if [[ $hostport == \[*\]* ]]; then # [::1]:5432
    PGHOST=${hostport%%]*}
    PGHOST=${PGHOST#[}
    if [[ $hostport == *]:* ]]; then port=${hostport##*]:}; fi
  else
    PGHOST=${hostport%%:*}
    if [[ $hostport == *:* ]]; then port=${hostport##*:}; fi
  fi
  if [[ -n $PGHOST ]]; then export PGHOST; fi # none: libpq's default (the local socket)
  if [[ -n $port ]]; then export PGPORT=$port; fi
  export PGDATABASE
}

percent_decode() {
  local value=${1//\\/\\\\} # a backslash stays a backslash
  printf '%b' "${value//%/\\x}"
}

# What a message may say about the database: never the URL (it carries the password).
described() {
  echo "database \"$PGDATABASE\" on ${PGHOST:-the local socket}${PGPORT:+:$PGPORT}${PGUSER:+ as $PGUSER}"
}

# Run as a script, not when restore_drill.sh sources the helpers above.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  [[ -n ${DATABASE_URL:-} ]] || fail "set DATABASE_URL (postgresql://user:password@host:5432/db)."
  command -v pg_dump >/dev/null || fail "pg_dump is not installed (Debian: apt-get install postgresql-client)."
  pg_environment_from_url "$DATABASE_URL"
  backup_dir=${BACKUP_DIR:-backups}
  mkdir -p "$backup_dir"
  target="$backup_dir/scheduler-$(date -u +%Y%m%dT%H%M%SZ).dump"
  [[ ! -e $target ]] || fail "$target already exists; try again in a second."
  partial="$target.partial"
  trap 'rm -f "$partial"' EXIT
  echo "backup: dumping $(described) ..." >&2
  # --no-password: fail at once rather than wait for a password prompt nobody will answer.
  pg_dump --format=custom --no-password --file="$partial" || fail "pg_dump failed (see above); no backup written."
  # A dump pg_restore cannot read is no backup.
  pg_restore --list "$partial" >/dev/null || fail "the dump cannot be read back; no backup written."
  mv "$partial" "$target"
  trap - EXIT
  echo "backup: wrote $target ($(wc -c <"$target" | tr -d ' ') bytes)" >&2
  echo "$target"
fi
