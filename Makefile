# PilotCRM. `make run` and `make test` work on a fresh machine with Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_CONTACTS ?= 1000
DEMO_SEED ?= 42

.PHONY: install migrate demo run serve test test-pg test-jobs test-browser test-schemathesis lint \
	typecheck format bench clean collectstatic deploy-check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py setup_demo --contacts $(DEMO_CONTACTS) --seed $(DEMO_SEED) \
		--url http://$(HOST):$(PORT)/

# The webhook delivery loop runs next to the web server (no request sends a
# webhook) and stops with it.
run: demo
	@echo "PilotCRM is at http://$(HOST):$(PORT)/ (logins printed above)"
	$(BIN)/python manage.py deliver_webhooks & LOOP=$$!; \
	$(BIN)/python manage.py run_due_jobs --loop 60 & BEAT=$$!; \
	trap 'kill $$LOOP $$BEAT 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# The production set-up: gunicorn, a Celery worker and Celery beat (Procfile),
# started together by honcho. Settings come from the environment (or a .env
# file, which honcho reads): DEBUG=False, SECRET_KEY, ALLOWED_HOSTS,
# DATABASE_URL, REDIS_URL, CELERY_BROKER_URL. README: "Deployment".
PROMETHEUS_MULTIPROC_DIR ?= $(CURDIR)/var/prometheus
serve: install
	mkdir -p var
	rm -rf $(PROMETHEUS_MULTIPROC_DIR) && mkdir -p $(PROMETHEUS_MULTIPROC_DIR)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	PROMETHEUS_MULTIPROC_DIR=$(PROMETHEUS_MULTIPROC_DIR) exec $(BIN)/honcho -f Procfile start

test: install
	$(BIN)/python -m pytest

test-pg: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/pilotcrm} $(BIN)/python -m pytest

test-browser: install
	$(BIN)/python -m pytest -m browser

test-schemathesis: install
	$(BIN)/python -m pytest -m schemathesis -p no:cacheprovider

# Production: run with the production environment (DEBUG=False, SECRET_KEY,
# ALLOWED_HOSTS, DATABASE_URL, ...). collectstatic writes STATIC_ROOT and its
# manifest; deploy-check collects, migrates and runs Django's deployment checks.
collectstatic: install
	$(BIN)/python manage.py collectstatic --noinput

deploy-check: collectstatic
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py check --deploy --fail-level WARNING

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: migrate
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles .pytest_cache .ruff_cache .mypy_cache
