# The commands the README names. `make run` and `make test` need nothing but python3 (3.11 or newer).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
HOST ?= 127.0.0.1
PORT ?= 8000
# Two workers: the suite's slow parts (subprocesses, a browser, servers) wait more than they compute.
PYTEST_FLAGS ?= -n 2 -ra
LINTED := src tests $(wildcard bench)
# The lock tools the update-proposal tests drive, each in its own environment (uv comes with the dev extra).
LOCK_TOOLS := $(VENV)/lock-tools
LOCK_TOOL_VERSIONS := poetry==2.5.1 pipenv==2026.10.3
# The npm ones; yarn berry goes apart (its bin is also `yarn`) and is only copied into test repositories as
# their own .yarn/releases, which is the one way keepwell runs berry.
LOCK_TOOL_NODE_VERSIONS := yarn@1.22.22 pnpm@9.15.9
LOCK_TOOL_BERRY_VERSION := @yarnpkg/cli-dist@4.18.1
TEST_PATH := PATH="$(CURDIR)/$(LOCK_TOOLS)/bin:$(CURDIR)/$(BIN):$$PATH"
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test test-postgres lint docs bench system-deps constraints clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e ".[dev,postgres,redis]"
	touch $@ $(VENV)/.installed

$(VENV)/.installed-lock-tools: Makefile $(VENV)/.installed-dev
	for tool in $(LOCK_TOOL_VERSIONS); do \
		UV_TOOL_DIR=$(LOCK_TOOLS) UV_TOOL_BIN_DIR=$(LOCK_TOOLS)/bin UV_PYTHON_DOWNLOADS=never \
			$(BIN)/uv tool install --quiet --python $(BIN)/python "$$tool" || exit 1; \
	done
	if command -v npm >/dev/null; then \
		npm install --prefix $(LOCK_TOOLS)/node --no-audit --no-fund --silent $(LOCK_TOOL_NODE_VERSIONS) || exit 1; \
		npm install --prefix $(LOCK_TOOLS)/berry --no-audit --no-fund --silent $(LOCK_TOOL_BERRY_VERSION) || exit 1; \
		for bin in yarn pnpm; do ln -sf ../node/node_modules/.bin/$$bin $(LOCK_TOOLS)/bin/$$bin; done; \
	else echo "npm is not installed: the yarn and pnpm lockfile tests will be skipped"; fi
	touch $@

## run: install keepwell into .venv and run it on SQLite at http://127.0.0.1:8000
run: $(VENV)/.installed
	$(BIN)/keepwell up --host $(HOST) --port $(PORT)

## test: install the development tools, lint, build the manual strictly, run the whole suite (SQLite)
test: $(VENV)/.installed-dev $(VENV)/.installed-lock-tools system-deps lint docs
	$(TEST_PATH) $(BIN)/python -m pytest $(PYTEST_FLAGS) --deselect tests/test_docs.py::test_the_manual_builds_strictly

## test-postgres: the suite again on PostgreSQL and Redis (both must answer; .ci/run starts them)
test-postgres: $(VENV)/.installed-dev $(VENV)/.installed-lock-tools
	$(TEST_PATH) KEEPWELL_TEST_DATABASE_URL=$(POSTGRES_URL) KEEPWELL_TEST_REDIS_URL=$(REDIS_URL) \
		$(BIN)/python -m pytest $(PYTEST_FLAGS) --deselect tests/test_docs.py::test_the_manual_builds_strictly

## lint: ruff's checks and formatting
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

## docs: build the manual into site/, failing on any warning
docs: $(VENV)/.installed-dev
	$(BIN)/mkdocs build --strict --quiet

## bench: run every benchmark in bench/ and print its figures
bench: $(VENV)/.installed-dev
	@for script in bench/[!_]*.py; do echo "== $$script"; $(BIN)/python "$$script" || exit 1; done

## system-deps: install the system packages the tests need (Chromium), when run as root
system-deps:
	scripts/system-deps

## constraints: regenerate the lock from a clean install of keepwell with every extra
constraints:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install -q -e ".[dev,postgres,redis]"
	{ echo "# The lock: every package keepwell and its extras [dev,postgres,redis] install, pinned."; \
	  echo "# Regenerate from a clean virtual environment: make constraints"; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable; } > constraints.txt
	rm -rf .venv-lock

clean:
	rm -rf site .venv-lock
