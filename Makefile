# The two commands: `make run` and `make test`. Each sets up .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS_TEST_URL ?= redis://127.0.0.1:6379/0
PYTEST_ARGS ?=

.PHONY: typecheck messages run test test-services test-browser test-security test-security-full security-figures test-client client-types lint bench venv migrate seed clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# The console's Chinese catalog: the .mo is committed; rebuild it after editing the .po.
messages:
	msgfmt --check-format -o backend/locale/zh_Hans/LC_MESSAGES/django.mo backend/locale/zh_Hans/LC_MESSAGES/django.po

run: venv
	HOST=$(HOST) PORT=$(PORT) ./scripts/run.sh

test: venv
	$(BIN)/pytest $(PYTEST_ARGS)

test-services: venv
	DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) $(BIN)/pytest $(PYTEST_ARGS)

# The console in headless chromium (tests/console): Debian's chromium, its driver and a CJK font,
# installed from Debian's packages when missing; never a browser download.
test-browser: venv
	command -v chromium >/dev/null 2>&1 || { apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver fonts-noto-cjk; }
	$(BIN)/pytest -m browser tests/console $(PYTEST_ARGS)

# The security checks (tests/security, docs/security.md): the API fuzzed against its schema, the
# authorization matrix, object-level checks between peers, mass assignment, limits, and the fault
# tests (Redis, daphne, database connections and WeChat broken on servers of their own; they need
# PostgreSQL and redis-server, and skip without). Each prints its figure at the end; the full sweep
# fuzzes with many more examples per operation. bandit first: a finding at medium severity and
# confidence fails the leg with bandit's own report.
BANDIT := $(BIN)/bandit -c pyproject.toml -r backend -ll -ii -q

# The hours ledger under concurrent retries needs a database that takes concurrent writers: it runs
# again on the machine's PostgreSQL (as test-services) when one answers, and prints its own figure.
LEDGER_ON_PG = if $(BIN)/python -c "import psycopg; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; \
	then DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) $(BIN)/pytest -m security tests/security/test_ledger.py -k concurrent $(PYTEST_ARGS); \
	else echo "hours under concurrent retries: skipped, no PostgreSQL at $(PG_URL)"; fi

test-security: venv
	$(BANDIT)
	rm -f var/security-figures.json
	$(BIN)/pytest -m security tests/security $(PYTEST_ARGS)
	$(LEDGER_ON_PG)

test-security-full: venv
	$(BANDIT)
	rm -f var/security-figures.json
	SECURITY_FUZZ_EXAMPLES=25 $(BIN)/pytest -m security tests/security $(PYTEST_ARGS)
	$(LEDGER_ON_PG)

# docs/security.md's figures, from what the last `make test-security` printed (var/security-figures.json).
security-figures: venv
	$(BIN)/python scripts/security_figures.py

# The mini-program SDK (clients/miniprogram/README.md). Its dev dependencies come from the npm
# registry through package-lock.json (npm ci); its types are generated from the server's schema.
CLIENT := clients/miniprogram
CLIENT_DEPS := $(CLIENT)/node_modules/.installed
SCHEMA = mkdir -p $(CLIENT)/build && DEBUG=1 $(BIN)/python manage.py spectacular --file $(CLIENT)/build/schema.yaml
OPENAPI_TS = cd $(CLIENT) && ./node_modules/.bin/openapi-typescript build/schema.yaml --output

$(CLIENT_DEPS): $(CLIENT)/package-lock.json
	cd $(CLIENT) && npm ci --no-audit --no-fund
	touch $@

client-types: venv $(CLIENT_DEPS)
	$(SCHEMA)
	$(OPENAPI_TS) src/schema.d.ts

# The checked-in types must be those of today's schema (an API change that breaks the SDK fails
# here or in tsc), the SDK type-checks, and its tests run against the real server (daphne, a fresh
# database, the fake WeChat) on a free port in 8800-8899.
test-client: venv $(CLIENT_DEPS)
	$(SCHEMA)
	$(OPENAPI_TS) build/schema.d.ts
	@diff -u $(CLIENT)/src/schema.d.ts $(CLIENT)/build/schema.d.ts | head -40; \
	  cmp -s $(CLIENT)/src/schema.d.ts $(CLIENT)/build/schema.d.ts || \
	  { echo "$(CLIENT)/src/schema.d.ts differs from the server's schema: run make client-types"; exit 1; }
	cd $(CLIENT) && npm run --silent build && npm test

# The house rules made mechanical (docs/architecture.md): the layers as an import contract
# (pyproject.toml [tool.importlinter]) and no dead code (scripts/dead_code.py, vulture).
# Types alone (mypy, configured in pyproject.toml; part of lint).
typecheck: venv
	$(BIN)/mypy

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python scripts/dead_code.py
	$(BIN)/python scripts/sizes.py
	$(BIN)/mypy

bench: venv
	$(BIN)/python -m bench

migrate: venv
	$(BIN)/python manage.py migrate --noinput

seed: venv
	$(BIN)/python manage.py seed_demo

clean:
	rm -rf $(VENV) var/
