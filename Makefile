# One obvious way to run things. Every target creates the virtualenv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test check bench schema sandbox clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)  ## serve the gateway on the embedded sandboxes, GraphiQL at /graphql
	$(BIN)/gateway serve

test: $(STAMP) check  ## lint, types, then the whole test suite
	$(BIN)/pytest

check: $(STAMP)  ## ruff and mypy --strict on the packages
	$(BIN)/ruff check gateway schema adapters tests
	$(BIN)/ruff format --check gateway schema adapters tests
	$(BIN)/mypy gateway schema adapters

schema: $(STAMP)  ## regenerate the committed schema.graphql
	$(BIN)/gateway export-schema > schema.graphql

sandbox: $(STAMP)  ## the four provider sandboxes on their own ports
	$(BIN)/gateway sandbox

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
