# Two set-up commands (see README): `make run` and `make test`. Both work on a fresh machine
# that has only Python 3.11: they create .venv/ and install the pinned lock into it.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck bench mutate clean lock browser poppler

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The clinic web app on the embedded SQLite default (psotrack.db): the synthetic demo is built
# once (whole or not at all; later runs leave it as it is), its sign-ins are printed, and the
# server runs until Ctrl-C. HOST and PORT choose where it listens.
HOST ?= 127.0.0.1
PORT ?= 8000
run: $(STAMP)
	$(BIN)/psotrack demo
	$(BIN)/psotrack serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/ruff format --check src tests $(wildcard benchmarks)

typecheck: $(STAMP)
	$(BIN)/mypy

# The browser tests drive Debian's Chromium (Playwright's own browser download does not work
# here); install it when missing. Without it (no root, no package mirror) they skip, saying so.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v /usr/bin/chromium >/dev/null 2>&1 \
	  || (apt-get install -y -q chromium >/dev/null 2>&1 \
	      || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1)) \
	  || echo "chromium could not be installed: the browser tests will be skipped"

# The report tests turn PDF pages into PNG with poppler's pdftoppm; install it from Debian when
# missing. Without it those checks skip, saying so. (The PDFs themselves need nothing from the
# system: Typst is bundled by its Python package, the font comes with matplotlib.)
poppler:
	@command -v pdftoppm >/dev/null 2>&1 \
	  || (apt-get install -y -q poppler-utils >/dev/null 2>&1 \
	      || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q poppler-utils >/dev/null 2>&1)) \
	  || echo "poppler-utils could not be installed: the PDF page images will not be made"

test: $(STAMP) browser poppler lint typecheck
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_scoring.py

# Mutation testing of instruments/, endpoints/ and stats/ (slow: hours on 2 shared cores; not
# part of `make test`). Configuration: [tool.mutmut] in pyproject.toml; equivalent mutants and the
# last measured kill rates: docs/mutation.md. mutmut keeps every result in mutants/, so a plain
# `make mutate` resumes where it stopped; MUTATE_NAMES='psotrack.stats.*' re-tests those mutants
# (e.g. after adding tests). MUTATE_CHILDREN sets the parallel workers.
MUTATE_CHILDREN ?= 2
MUTATE_NAMES ?=
mutate: $(STAMP)
	PSOTRACK_HYPOTHESIS_PROFILE=mutation nice -n 15 $(BIN)/mutmut run \
	  --max-children $(MUTATE_CHILDREN) $(MUTATE_NAMES)
	$(BIN)/python benchmarks/mutation_report.py

clean:
	rm -rf $(VENV) mutants build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache

lock:
	$(BIN)/python -m pip freeze --all --exclude-editable | grep -v -E '^pip==' \
	  | (echo "# Pinned lock of psotrack's environment (runtime + test). Regenerate: make lock"; cat) > requirements.lock
