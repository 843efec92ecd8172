# A fresh machine needs only python3: every target creates .venv and installs what it needs.
# torch is pinned first so pip takes the CPU build on disk instead of a multi-GB CUDA build.
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0

.PHONY: install demo test bench lint clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/coconut-lm demo

test: install
	$(PY) -m pytest -q

bench: install
	$(VENV)/bin/coconut-lm bench

lint: install
	$(VENV)/bin/ruff check src tests && $(VENV)/bin/ruff format --check src tests

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
