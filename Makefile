# chatadmin — the two commands of the quick start are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The newest Python >= 3.12 that actually runs (pyenv shims may exist but not work).
PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 $$(ls -d $$HOME/.pyenv/versions/3.1[2-9]*/bin/python3 /usr/local/bin/python3.1[2-9] 2>/dev/null | sort -rV); do \
	"$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { command -v "$$p"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Outside DJANGO_DEBUG, chatadmin/settings.py refuses to start without DJANGO_SECRET_KEY.
# `make run` and its steps (migrate, demo) are the development mode: DJANGO_DEBUG=true
# unless set. The benchmarks run outside debug, like production, on scratch databases: a
# throwaway random key per command unless DJANGO_SECRET_KEY is set. worker and beat (the
# production targets) get neither: they need the real key.
DEV_ENV = DJANGO_DEBUG=$${DJANGO_DEBUG:-true}
SCRATCH_ENV = DJANGO_SETTINGS_MODULE=chatadmin.settings \
	DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')}

.PHONY: help install run test lint format worker beat migrate demo clean bench load chaos

help:
	@echo "make run     set up (venv, install, migrate, demo data) and start web + worker + beat"
	@echo "make test    run the test suite (SQLite; PostgreSQL when DATABASE_URL is set)"
	@echo "make lint    ruff check and format check, and the import contracts (lint-imports)"
	@echo "make bench   the benchmarks (scratch database from DATABASE_URL; PostgreSQL recommended)"
	@echo "make load    gunicorn on PostgreSQL under concurrent API clients (benchmarks/load.py)"
	@echo "make chaos   the fault tests, slow ones included (PostgreSQL and Redis on this machine)"
	@echo "make worker  a Celery worker (production: one per core or more)"
	@echo "make beat    the Celery beat scheduler (production: exactly one)"

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
		echo "chatadmin needs Python 3.12 or newer and none was found."; \
		echo "Install one (e.g. 'apt-get install python3.12 python3.12-venv' or 'pyenv install 3.13')"; \
		echo "or point to it: make run PYTHON=/path/to/python3.12"; exit 1; fi
	@echo "Using $(PYTHON) ($$($(PYTHON) -V))"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	@mkdir -p "$${CHATADMIN_VAR_DIR:-var}"  # SQLite does not create the folder of its file
	$(DEV_ENV) $(PY) manage.py migrate --noinput

demo: migrate
	$(DEV_ENV) $(PY) manage.py seed_demo --host $(HOST):$(PORT)

# The web server and a Celery worker with embedded beat (filesystem broker under the var
# folder unless CELERY_BROKER_URL says otherwise). Ctrl-C, or a TERM to make, to the recipe's
# shell or to make's whole process group, stops both: the EXIT trap stops the web server,
# then the worker: a warm shutdown (TERM: running tasks finish), after RUN_STOP_SECONDS a cold
# one (QUIT: running tasks go back to the queue, acks_late), and 2 s later a KILL of its
# process group. The worker runs in a session of its own (os.setsid), so a signal to make's
# group reaches it only through the trap: when a group TERM also reached its pool processes,
# one killed while it held the pool's queue lock left the worker waiting for that lock at
# exit, forever (issue 16; docs/operations.md, "Stopping make run").
RUN_STOP_SECONDS ?= 8
run: demo
	@var="$${CHATADMIN_VAR_DIR:-var}"; mkdir -p "$$var"; worker=; web=; \
	alive() { case "$$(ps -o stat= -p "$$1" 2>/dev/null)" in ""|Z*) return 1;; esac; }; \
	await() { for _ in $$(seq $$(($$2 * 10))); do alive "$$1" || return 0; sleep 0.1; done; ! alive "$$1"; }; \
	stop() { \
		[ -n "$$web" ] && kill -TERM "$$web" 2>/dev/null && wait "$$web" 2>/dev/null; \
		[ -n "$$worker" ] || return 0; \
		kill -TERM "$$worker" 2>/dev/null; \
		if ! await "$$worker" $(RUN_STOP_SECONDS); then \
			echo "The Celery worker did not stop within $(RUN_STOP_SECONDS) s: cold shutdown (QUIT)."; \
			kill -QUIT "$$worker" 2>/dev/null; \
			await "$$worker" 2 || { echo "... nor after QUIT: killed."; kill -KILL -- "-$$worker" 2>/dev/null; }; \
		fi; \
		wait "$$worker" 2>/dev/null; echo "Celery worker stopped."; }; \
	trap stop EXIT; trap 'exit 130' INT TERM HUP; \
	$(DEV_ENV) $(PY) -c 'import os, sys; os.setsid(); os.execv(sys.argv[1], sys.argv[1:])' \
		$(VENV)/bin/celery -A chatadmin worker --beat --loglevel=INFO --concurrency=2 \
		--schedule="$$var/celerybeat-schedule" >"$$var/worker.log" 2>&1 & worker=$$!; \
	echo "Celery worker with beat started, pid $$worker (log: $$var/worker.log)"; \
	$(DEV_ENV) $(PY) manage.py runserver $(HOST):$(PORT) & web=$$!; \
	wait "$$web"

# Everything but the minute-long fault variants (marked slow; make chaos runs them). A -m in
# PYTEST_ARGS replaces this default (pytest keeps the last -m).
TEST_MARKERS ?= not slow
test: install
	$(VENV)/bin/pytest -m "$(TEST_MARKERS)" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Benchmarks print figures (never assert wall-clock). Each creates and drops its own scratch
# database (test_<NAME> of DATABASE_URL), so real data is never touched. PURGE_ARGS: see
# benchmarks/README.md, e.g. make bench PURGE_ARGS="--close-sizes 10,100000".
bench: install
	$(SCRATCH_ENV) $(PY) benchmarks/purge.py $(PURGE_ARGS)
	$(SCRATCH_ENV) $(PY) benchmarks/filter.py
	$(SCRATCH_ENV) $(PY) benchmarks/console.py $(CONSOLE_ARGS)
	$(SCRATCH_ENV) $(PY) benchmarks/messaging.py $(MESSAGING_ARGS)
	$(SCRATCH_ENV) $(PY) benchmarks/webhooks.py $(WEBHOOKS_ARGS)
	$(SCRATCH_ENV) $(PY) benchmarks/paging.py $(PAGING_ARGS)
	$(SCRATCH_ENV) $(PY) benchmarks/api.py $(API_ARGS)

# gunicorn on PostgreSQL under concurrent API clients (scratch database test_<NAME> of
# DATABASE_URL). LOAD_ARGS, e.g. "--clients 8 --seconds 30 --workers 3".
load: install
	$(SCRATCH_ENV) $(PY) benchmarks/load.py $(LOAD_ARGS)

# The fault tests (tests/chaos), slow ones (a minute-long outage) included; .ci/run runs
# the fast ones. Each breaks only servers it started itself; the sweep and broker tests
# need PostgreSQL and Redis (defaults: this machine's).
CHAOS_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/chatadmin
CHAOS_BROKER_URL ?= redis://127.0.0.1:6379/15
chaos: install
	DATABASE_URL=$${DATABASE_URL:-$(CHAOS_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(CHAOS_BROKER_URL)} \
		$(VENV)/bin/pytest -m chaos $(PYTEST_ARGS)

worker: install
	$(VENV)/bin/celery -A chatadmin worker --loglevel=INFO

beat: install
	$(VENV)/bin/celery -A chatadmin beat --loglevel=INFO --schedule=var/celerybeat-schedule

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
