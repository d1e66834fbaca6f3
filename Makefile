# habitlake: two commands set everything up and run things.
#   make demo   set up (venv, packages, jars, metastore) and run the demo end to end
#   make test   set up and run the whole test suite (what .ci/run calls)
# Every target is idempotent: a second run skips what is already there.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
HL     := $(BIN)/habitlake
STAMP  := $(VENV)/.installed

.PHONY: setup browser lstm demo test test-fast test-long bench lock clean-lake clean help

help:
	@echo "make demo       set up and run the demo end to end"
	@echo "make test       set up and run the whole test suite"
	@echo "make test-fast  only the quick tests (no Spark)"
	@echo "make test-long  the long Airflow runs: a scheduler-run backfill, the weekly training DAG"
	@echo "make browser    install Debian's chromium for the cockpit's browser tests"
	@echo "make lstm       install the optional torch extra (the demand forecast's LSTM challenger)"
	@echo "make bench      benchmark harness (prints its figures)"
	@echo "make clean-lake delete generated data, lakehouse and metastore (keeps venv and jars)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9

$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python -c requirements.lock -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)
	$(HL) setup

# Debian's Chromium for the cockpit's browser tests (Playwright drives it; needs root or sudo).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	@chromium --version

# The optional torch extra for the demand forecast's LSTM (models/demand/lstm.py). PyPI's Linux
# torch wheel is the CUDA build: ~2.6 GB of downloads (nvidia-*, triton), 4.4 GB installed; it runs
# on CPU. torch 2.13 needs setuptools >= 77, newer than the lock's 65.5.0, so that one pin is
# dropped from the constraints here; every other package keeps its locked version.
lstm: $(STAMP)
	grep -v '^setuptools==' requirements.lock > $(VENV)/lstm-constraints.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python -c $(VENV)/lstm-constraints.txt -e ".[dev,lstm]"
	$(BIN)/python -c "import torch; print('torch', torch.__version__)"

demo: setup
	$(HL) demo

test: setup
	$(BIN)/python -m pytest

test-long: setup
	$(BIN)/python -m pytest -m long

test-fast: setup
	$(BIN)/python -m pytest -m fast

bench: setup
	$(BIN)/python -m bench

lock: $(BIN)/python
	$(BIN)/uv pip freeze --python $(BIN)/python | grep -v '^-e\|^habitlake' > requirements.lock.new
	{ echo "# Full resolved dependency set, used as constraints by 'make setup' (uv pip install -c)."; echo "# Regenerate: make lock"; cat requirements.lock.new; } > requirements.lock; rm requirements.lock.new

clean-lake:
	-$(HL) metastore stop
	rm -rf .habitlake

clean: clean-lake
	rm -rf $(VENV) .cache
