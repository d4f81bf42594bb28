#!/usr/bin/env bash
# Until the first release the whole schema is one migration, 0001_initial, made from
# the models. Run this after changing a model; the migration test then checks it.
# After the first release: add migrations (flask db migrate), never edit old ones.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -f migrations/versions/0001_*.py
SCHEDULER_ENV=development DATABASE_URL="sqlite:///$tmp/empty.db" .venv/bin/flask --app wsgi db migrate -m "initial schema" --rev-id 0001_initial >/dev/null
mv migrations/versions/0001_initial_*.py migrations/versions/0001_initial.py
echo "regenerated migrations/versions/0001_initial.py"
