# `make run` and `make test` work on a fresh machine with only Python >= 3.11 and pip.
# The venv is rebuilt only when pyproject.toml or constraints.txt change.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= configs/default.yaml

.PHONY: run test bench notebooks lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/python -m pipeline run $(CONFIG)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-run
	$(BIN)/python -m pipeline bench

# JupyterLab on the notebooks, which read outputs/default (made first if it is missing).
notebooks: $(VENV)/.installed-run
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[notebooks]'
	test -f outputs/default/manifest.json || $(BIN)/python -m pipeline run $(CONFIG)
	$(BIN)/jupyter lab notebooks/

# Re-pin constraints.txt to what is installed in .venv (after a deliberate upgrade).
lock: $(VENV)/.installed-dev
	$(BIN)/python -m pip freeze --exclude-editable --exclude miit-topics > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
