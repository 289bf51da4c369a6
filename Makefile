# Two commands on a fresh machine (Python 3.11 + make): `make demo`, `make test`.
# Both create .venv when missing and reinstall only when the dependency lists
# in pyproject.toml or the exact versions in constraints.txt change (hash stamp in
# .venv/.xnas-deps).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.xnas-deps
PYTEST_ARGS ?=

.PHONY: venv demo test lint bench docs browser clean-venv

venv:
	@want=$$($(PYTHON) tools/deps_hash.py pyproject.toml) || exit 1; \
	if [ ! -x $(BIN)/python ]; then \
	  echo "[xnas] creating $(VENV)"; $(PYTHON) -m venv $(VENV) || exit 1; \
	fi; \
	have=$$(cat $(STAMP) 2>/dev/null); \
	if [ "$$have" != "$$want" ]; then \
	  echo "[xnas] installing dependencies (stamp $$have -> $$want)"; \
	  $(BIN)/python -m pip install --quiet --upgrade pip && \
	  $(BIN)/python -m pip install --quiet -e '.[dev]' -c constraints.txt && \
	  echo "$$want" > $(STAMP) || exit 1; \
	else \
	  echo "[xnas] $(VENV) up to date (deps $$want), nothing to install"; \
	fi

demo: venv
	$(BIN)/python -m xnas demo

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .

# the documentation site: tutorials executed (only those whose script changed), then a
# strict build into site/ (a broken link or a missing reference fails it)
docs: venv
	$(BIN)/python docs/run_tutorials.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

bench: venv
	@for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

# Debian's chromium, for the dashboard's real-browser test (skipped, with its reason, without
# it); installs only when missing, with sudo when not root
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  echo "[xnas] installing chromium (Debian) for the browser test"; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null || \
	  { $$SUDO apt-get update -q >/dev/null && \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; }

clean-venv:
	rm -rf $(VENV)
