# The two set-up commands: `make lab` and `make test`. Everything else is a step of them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
NOTEBOOK := notebooks/gladier_tutorial.ipynb
PYTEST_ARGS ?=

.PHONY: lab test test-unit venv frontend install install-test install-bench jupyter-extensions chromium slurm lint bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

venv: $(VENV)/bin/python

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

frontend: node_modules/.package-lock.json
	npm run build

install: venv frontend
	$(PIP) install --quiet -e ".[lab]"
	$(MAKE) --no-print-directory jupyter-extensions

install-test: venv frontend
	$(PIP) install --quiet -e ".[test]"
	$(MAKE) --no-print-directory jupyter-extensions

install-bench: install-bench
	$(PIP) install --quiet -e ".[bench]"

# An editable install does not place the wheel's shared-data, so do what `pip install .`
# would: link the prebuilt lab extension into the venv (`jupyter labextension develop`)
# and drop the server extension's enable file into the venv's config. (The Python API of
# `jupyter labextension develop`: the CLI also runs yarn, which is not needed here.)
jupyter-extensions:
	$(PY) -c "import importlib, importlib.util as u; m = 'jupyter_builder.federated_extensions' if u.find_spec('jupyter_builder') else 'jupyterlab.federated_labextensions'; importlib.import_module(m).develop_labextension_py('gladier_jupyter', sys_prefix=True, overwrite=True)"
	install -D -m 644 jupyter-config/jupyter_server_config.d/gladier_jupyter.json \
		$(VENV)/etc/jupyter/jupyter_server_config.d/gladier_jupyter.json

# Debian's Chromium drives the browser tests (Playwright cannot download browsers here).
chromium:
	@if command -v chromium >/dev/null 2>&1; then \
		echo "chromium: $$(command -v chromium)"; \
	elif [ "$$(id -u)" = "0" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "The browser tests need Debian's Chromium: run 'sudo apt-get install chromium'."; exit 1; \
	fi

# Debian's Slurm and MUNGE: the tests start a real single-node cluster (tests/_fixtures/slurm.py).
# Without root the Slurm tests skip, with the reason; so does this step.
slurm:
	@if [ -x /usr/sbin/slurmctld ] && [ -x /usr/sbin/slurmd ] && [ -x /usr/sbin/munged ]; then \
		echo "slurm: $$(/usr/sbin/slurmctld -V)"; \
	elif [ "$$(id -u)" = "0" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null; \
	else \
		echo "The Slurm tests need Debian's Slurm and MUNGE: run 'sudo apt-get install slurm-wlm munge' (they skip without them)."; \
	fi

# The kernel starts the local Globus-compatible service on demand: no account needed.
# LAB_ARGS passes options through, e.g. make lab LAB_ARGS="--no-browser --port 8899".
LAB_ARGS ?=
ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root,)
lab: install
	$(VENV)/bin/jupyter lab $(ROOT_ARGS) $(LAB_ARGS) $(NOTEBOOK)

test: install-test chromium slurm
	$(VENV)/bin/ruff check gladier_jupyter tests bench
	$(VENV)/bin/lint-imports --no-logo
	$(VENV)/bin/mypy
	npm run --silent typecheck
	$(PY) -m pytest $(PYTEST_ARGS)

# `make test` without the browser tests (those marked `browser`): no Chromium needed.
test-unit: lint
	$(PY) -m pytest -m "not browser" $(PYTEST_ARGS)

lint: install-test
	$(VENV)/bin/ruff check gladier_jupyter tests bench
	$(VENV)/bin/lint-imports --no-logo
	$(VENV)/bin/mypy
	npm run --silent typecheck

bench: install-bench
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .import_linter_cache .mypy_cache node_modules gladier_jupyter/static/*.js gladier_jupyter/static/*.css test-artifacts \
		gladier_jupyter/labextension labextension/plugin-build/lib
