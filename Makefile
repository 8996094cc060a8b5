# The two commands a newcomer needs: `make run` and `make test`. Everything else is a step of theirs.
SHELL := /bin/bash
# A step that fails leaves no half-made target behind (a venv without pip, a stamp without packages).
.DELETE_ON_ERROR:
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run test install install-dev services browser pdf lint format migrate seed check-deploy

run: install pdf ## set up (embedded default unless DATABASE_URL/REDIS_URL are set) and start web + worker + beat
	HOST=$(HOST) PORT=$(PORT) PY=$(PY) bash scripts/run.sh

test: install-dev services browser pdf ## lint, audit requirements.txt (pip-audit), then the whole suite against PostgreSQL and Redis on 127.0.0.1
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) scripts/audit_requirements.py
	$(PY) -m pytest $(PYTEST_ARGS)

install: $(VENV)/.runtime-installed
install-dev: $(VENV)/.dev-installed

$(VENV)/bin/python:
	@$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || { echo "$(PYTHON) has no venv/ensurepip: install python3-venv (Debian) and run again." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3

$(VENV)/.runtime-installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(VENV)/.runtime-installed $@

services: ## make sure PostgreSQL and Redis answer on 127.0.0.1 (start or install them)
	bash scripts/services.sh

browser: ## make sure Debian's Chromium is installed for the browser tests (install it when missing)
	bash scripts/browser.sh

pdf: ## make sure the progress report PDF's system libraries are installed: Pango, a font, poppler-utils (install them when missing)
	bash scripts/pdf.sh

lint: install-dev
	$(VENV)/bin/ruff check .

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

.PHONY: bench
bench: install-dev services ## every benchmark at 10k and 100k patients on PostgreSQL: a table, growth, var/bench/results.json (BENCH_SIZES, BENCH_DATABASE_URL)
	$(PY) -m bench.run
