# The two commands of the README: `make run` and `make test` (which runs `make check` first).
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
# The app reads HOST and PORT as well: with no PUBLIC_BASE_URL set, emailed and printed links point there.
export HOST PORT

.PHONY: run test test-fast check bench install install-dev clean translations

install: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Running needs the runtime dependencies only; tests and linters add requirements-dev.txt
# (which includes requirements.txt, so it satisfies running too).
$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

## Install, create the SQLite database, seed the demo, and serve on http://$(HOST):$(PORT)
# A developer's command: local defaults even with a local DATABASE_URL (see SCHEDULER_ENV in the README).
run: export SCHEDULER_ENV ?= development
run: install
	@# A port in use stops us here, before anything is migrated, seeded or printed.
	@$(BIN)/python scripts/port_free.py $(HOST) $(PORT)
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi demo
	@echo "Serving on http://$(HOST):$(PORT)/ (staff console: http://$(HOST):$(PORT)/desk/, API reference: http://$(HOST):$(PORT)/docs); Ctrl-C stops it."
	@# The worker delivers mail (no MAIL_URL: .eml files under instance/mail/), expires holds, sends reminders.
	@# gunicorn.conf.py as in production, but ONE process (its threads serve requests side by side), so that
	@# the rate limits, counted in that process's memory, count exactly.
	$(BIN)/flask --app wsgi worker & worker=$$!; trap 'kill $$worker' EXIT INT TERM; \
	$(BIN)/gunicorn --config gunicorn.conf.py --workers 1 --bind $(HOST):$(PORT) wsgi:app

## Lint and formatting (ruff, configured in ruff.toml)
check: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

## Check, then run every test (PostgreSQL half: see README)
test: check
	$(BIN)/pytest -n 2 --dist loadgroup

## The quick loop while working: SQLite only, no browser, no server-starting tests, in parallel.
## `make test` stays the whole suite (both databases, browser, processes) and is what CI runs.
test-fast: install-dev
	env -u TEST_POSTGRES_URL -u CI $(BIN)/pytest -n 2 -q -m "not slow" tests/unit tests/integration

## Every benchmark of bench/, short form, on SQLite and PostgreSQL (started by .ci/postgres.sh when
## BENCH_POSTGRES_URL is not set): each figure beside its ceiling from the same run, a line per goal.
BENCHES = enrol_burst lists feeds mail mail_drain pages slot_race
bench: install-dev
	@export BENCH_POSTGRES_URL=$${BENCH_POSTGRES_URL:-$$(bash .ci/postgres.sh)}; \
	status=0; for name in $(BENCHES); do \
	  echo "== bench/$$name.py --quick"; $(BIN)/python bench/$$name.py --quick || status=1; \
	done; exit $$status

## The pages' translations: extract the marked strings (babel.cfg), add the new ones to each
## catalogue (scheduler/translations/<lang>/LC_MESSAGES/messages.po), compile the .mo files.
## Translate what `update` added (empty msgstr), then run it again: the .mo files are committed.
TRANSLATIONS = scheduler/translations
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l -k lazy_pgettext:1c,2 -k _lp:1c,2 --no-location --sort-output \
	  --project scheduler --copyright-holder "" -o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d $(TRANSLATIONS) --statistics

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis .ruff_cache
