# The README's two commands are `make demo` and `make test`; both set everything up from a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: venv tools test check bench demo clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# System tools the tests drive for real (ffprobe, socat, picocom, systemd-analyze).
tools:
	@scripts/install-tools

test: venv tools
	$(PY) -m pytest -q

check: venv
	$(VENV)/bin/ruff check recorder hal sim tests scripts
	$(VENV)/bin/ruff format --check recorder hal sim tests scripts
	$(VENV)/bin/mypy recorder hal sim

bench: venv
	$(PY) -m recorder.bench

demo: venv
	scripts/demo

# Leaves demo/ alone: it holds evidence, and no command here deletes evidence.
clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
