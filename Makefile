# Baromètre — `make run` starts everything, `make test` runs the tests (both install first).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint format migrate clean lock

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

test: install
	$(BIN)/pytest

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
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache *.egg-info
