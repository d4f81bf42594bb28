# The two commands of the README: `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

## Install, create the SQLite database, seed the demo, and serve on http://127.0.0.1:5000
run: install
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi demo
	@# The worker delivers mail (no MAIL_URL: .eml files under instance/mail/), expires holds, sends reminders.
	$(BIN)/flask --app wsgi worker & worker=$$!; trap 'kill $$worker' EXIT INT TERM; \
	export PROMETHEUS_MULTIPROC_DIR=$$(mktemp -d); \
	$(BIN)/gunicorn --workers 2 --bind $(HOST):$(PORT) --access-logfile - \
	  --logger-class scheduler.logs.GunicornLogger wsgi:app

## Install and run every test (PostgreSQL half: see README)
test: install
	$(BIN)/pytest -n 2 --dist loadgroup

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
