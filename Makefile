# The two commands of the README, plus their parts. Everything runs offline, from the venv that
# `make venv` builds from uv.lock (pinned, reproducible).
STACK ?= staging
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv

.PHONY: venv test lint preview preview-all reference

$(PY):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check "uv~=0.13.8"

venv: $(PY)
	$(UV) sync --frozen --inexact --extra test --compile-bytecode --quiet

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PY) -m pytest

preview: venv
	$(PY) -m tools.preview $(STACK) $(if $(JSON),--json $(JSON)) $(if $(MERMAID),--mermaid $(MERMAID))

preview-all: venv
	@for stack in staging prod-precommercial prod-commercial; do $(PY) -m tools.preview $$stack || exit 1; done

reference: venv
	$(PY) -m tools.config_reference --write
