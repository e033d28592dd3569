# Two commands do all set-up on a fresh machine:
#   make demo   creates .venv on first use, installs the package, runs the offline demo
#   make test   creates .venv on first use, installs the package, runs lint + tests on
#               the TensorFlow and the JAX backend
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test lint test-tensorflow test-jax bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[jax,examples,test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py --output outputs/demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test-tensorflow: $(STAMP)
	KERAS_BACKEND=tensorflow $(PY) -m pytest $(PYTEST_ARGS)

test-jax: $(STAMP)
	KERAS_BACKEND=jax $(PY) -m pytest $(PYTEST_ARGS)

test: lint test-tensorflow test-jax

bench: $(STAMP)
	KERAS_BACKEND=tensorflow $(PY) benchmarks/blur_speed.py
	KERAS_BACKEND=jax $(PY) benchmarks/blur_speed.py

clean:
	rm -rf $(VENV) outputs build dist .pytest_cache .hypothesis
