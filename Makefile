# One obvious way to run things. Every target creates the virtualenv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Test tooling only (the graphql-http audit, the GraphiQL browser test): Node
# packages pinned by tests/frontend/package-lock.json. `make run` never needs them.
FRONTEND := tests/frontend
NODE_STAMP := $(FRONTEND)/node_modules/.package-lock.json
# The benchmark's peer, GraphQL Mesh on Hive Gateway, pinned by its lock file.
MESH := benchmarks/mesh
MESH_STAMP := $(MESH)/node_modules/.package-lock.json
BENCH_ARGS ?=
REPLICAS ?= 2

.PHONY: run test check bench schema sandbox manifest frontend clean codegen-example

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)  ## serve the gateway on the embedded sandboxes, GraphiQL at /graphql
	$(BIN)/gateway serve

fleet: $(STAMP)  ## Redis, the sandboxes, REPLICAS gateways and a balancer on :8000
	$(BIN)/gateway fleet --replicas $(REPLICAS)

test: $(STAMP) check frontend  ## lint, types, then the whole test suite
	$(BIN)/pytest

check: $(STAMP)  ## ruff and mypy --strict on the packages
	$(BIN)/ruff check gateway schema adapters engine caching tests
	$(BIN)/ruff format --check gateway schema adapters engine caching tests
	$(BIN)/mypy gateway schema adapters engine caching tests/schema/fakes.py
	$(BIN)/gateway check-schema

bench: $(STAMP) $(MESH_STAMP)  ## our gateway vs Mesh on Hive Gateway (BENCH_ARGS=--help)
	@command -v wrk >/dev/null 2>&1 || { \
		echo "installing wrk (Debian package)"; \
		apt-get install -y -qq wrk >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq wrk; } || \
		{ echo "could not install wrk: run 'apt-get install wrk' as root"; exit 2; }; }
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

$(MESH_STAMP): $(MESH)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
		echo "npm not found: make bench needs Node 20 and npm for Hive Gateway"; \
		exit 2; }
	cd $(MESH) && npm ci --no-audit --no-fund --loglevel=error

schema: $(STAMP)  ## regenerate the committed schema.graphql
	$(BIN)/gateway export-schema > schema.graphql

sandbox: $(STAMP)  ## the four provider sandboxes on their own ports
	$(BIN)/gateway sandbox

manifest: $(STAMP)  ## regenerate operations/persisted-queries.json
	$(BIN)/gateway persisted-manifest

# Every direct dependency at its lower bound (constraints-lowest.txt), in a venv of
# its own: lint, types and the whole suite, proving the `>=` of pyproject.toml.
LOWEST := .venv-lowest
.PHONY: test-lowest
test-lowest: constraints-lowest.txt pyproject.toml frontend  ## the checks and suite on lowest versions
	rm -rf $(LOWEST)
	$(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/pip install --quiet --upgrade pip
	$(LOWEST)/bin/pip install --quiet -c constraints-lowest.txt -e '.[test]'
	$(LOWEST)/bin/ruff check gateway schema adapters engine caching tests
	$(LOWEST)/bin/ruff format --check gateway schema adapters engine caching tests
	$(LOWEST)/bin/mypy --cache-dir $(LOWEST)/.mypy_cache gateway schema adapters engine caching tests/schema/fakes.py
	$(LOWEST)/bin/pytest -p no:cacheprovider

frontend:  ## the Node test tooling, when Node is there (CI always has it)
	@if command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(NODE_STAMP); \
	else \
		echo "npm not found: the audit and browser tests will be skipped"; \
	fi

codegen-example: frontend  ## docs/frontend.md's codegen set-up, run on schema.graphql
	cd $(FRONTEND) && node guide.mjs codegen

$(NODE_STAMP): $(FRONTEND)/package-lock.json
	cd $(FRONTEND) && npm ci --no-audit --no-fund --loglevel=error

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache $(FRONTEND)/node_modules
