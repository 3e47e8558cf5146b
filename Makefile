# Baromètre — `make run` starts everything, `make test` runs the tests, `make bench` measures
# throughput (all install first).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install browser run test bench load lint format migrate clean lock

install: $(STAMP)

$(STAMP): pyproject.toml requirements-dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11+ is required (set PYTHON=python3.11 or newer)"; exit 1; }
	@echo "Installing Baromètre and its dependencies into $(VENV) (the first time, this may take a minute)..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip > $(VENV)/install.log 2>&1 && \
		$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock >> $(VENV)/install.log 2>&1 && \
		$(BIN)/python -m pip install --quiet --no-deps -e . >> $(VENV)/install.log 2>&1 || \
		{ cat $(VENV)/install.log; echo "install failed (log: $(VENV)/install.log)"; exit 1; }
	@touch $(STAMP)

run: install
	$(BIN)/barometer dev

# The report tests (and PDF reports) drive Debian's Chromium; installed when missing and root.
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) || \
		echo "Chromium is missing: install Debian's chromium (apt-get install chromium)"; }

test: install browser
	$(BIN)/pytest

# Starts its own PostgreSQL and NATS; prints a table and writes .bench/latest.json.
bench: install
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# The running stack under concurrent clients (reads and writes) for a minute; not in `make test`.
load: install
	$(BIN)/python -m benchmarks.load $(LOAD_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: install
	$(BIN)/barometer migrate

# Pinned dependencies (with hashes) for `make install` and the images; run after editing
# pyproject.toml's dependencies.
lock:
	@test -x $(BIN)/uv || { echo "run make install first"; exit 1; }
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes --no-header --quiet -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes --no-header --quiet -o requirements-dev.lock

clean:
	rm -rf $(VENV) .data .bench .pytest_cache .mypy_cache .ruff_cache *.egg-info
