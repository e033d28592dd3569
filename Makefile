# Two commands do all set-up on a fresh machine:
#   make demo   creates .venv on first use, installs the package, runs the offline demo
#               (examples/photo_demo.py: real photos degraded at full size, restored by
#               the shipped preset and by the self-tuning Wiener; under a minute)
#   make test   creates .venv on first use, installs the package, runs lint + tests on
#               the TensorFlow and the JAX backend
# Release checks (CI runs them after `make test`):
#   make test-torch      installs torch (TORCH_SPEC) into .venv and runs pytest on the
#                        torch backend (FastLSTM's fused path against the stock LSTM)
#   make test-min        the oldest releases the package declares (.ci/min-versions.txt)
#                        in .venv-min: a subset of the tests on TensorFlow and on torch
#   make docs            mkdocs build --strict into site/ (offline)
#   make dist            sdist + wheel into dist/
#   make test-installed  installs the wheel into a fresh venv outside the tree and
#                        runs a copy of tests/ (and the package's doctests) against it
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DOCS_STAMP := $(VENV)/.docs-stamp
TORCH_STAMP := $(VENV)/.torch-stamp
# torch 2.13.0 is the CPU build on this project's machines' disk. Elsewhere, for a CPU-only
# wheel: make test-torch TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu"
TORCH_SPEC ?= torch==2.13.0
# The installed-package run checks packaging (files, imports, doctests); the end-to-end
# example, multi-device, fault-injection and hostile-input tests, slow and unchanged by
# packaging, run in-tree only.
INSTALLED_SKIP ?= --ignore=tests/test_examples.py --ignore=tests/test_distribution.py \
	--ignore=tests/test_fault_injection.py --ignore=tests/test_hostile_models.py \
	--ignore=tests/test_hostile_images.py --ignore=tests/test_hostile_loaders.py
# Files, the command line and the demo read and write images with numpy and Pillow
# whatever the backend: they run in the TensorFlow and installed-package runs only.
BACKEND_NEUTRAL_SKIP ?= --ignore=tests/test_cli.py --ignore=tests/test_io.py \
	--ignore=tests/test_photo_demo.py
# Backend of the installed-package run (the in-tree runs cover both).
INSTALLED_BACKEND ?= tensorflow
PYTEST_ARGS ?=
# pytest-xdist worker processes per run: 2, the cores of this project's machines (CI's
# TensorFlow and JAX runs take about 0.6x the time of one process); 0 runs in one process.
PYTEST_WORKERS ?= 2
PYTEST := -m pytest -n $(PYTEST_WORKERS)
# One OpenMP thread per torch worker: with two each, torch's kernels wait on each other
# for the shared cores (the torch run took 245 s so, 92 s with one, 149 s in one process).
ifeq ($(PYTEST_WORKERS),0)
TORCH_TEST_ENV :=
else
TORCH_TEST_ENV := OMP_NUM_THREADS=1
endif

# The oldest supported releases: pyproject.toml's floors, pinned in MIN_VERSIONS (a test
# in tests/test_package.py checks that they agree), in a venv of their own. Elsewhere, for
# torch's CPU-only wheel: make test-min MIN_PIP_ARGS="--extra-index-url \
#   https://download.pytorch.org/whl/cpu"
MIN_VENV ?= .venv-min
MIN_PY := $(MIN_VENV)/bin/python
MIN_STAMP := $(MIN_VENV)/.installed-stamp
MIN_VERSIONS := .ci/min-versions.txt
MIN_PIP_ARGS ?=
# A subset, to keep the job to a few minutes: what breaks when Keras or TensorFlow moves
# (saving and loading, FastModel, data-parallel training, the blur against scipy,
# metrics, one model family, the package's metadata and docs snippets) on TensorFlow, and
# the torch fast path, which reads Keras' private names, on torch (FastLSTM's
# torch-subprocess test is left to the torch run).
MIN_TESTS_TENSORFLOW ?= tests/test_package.py tests/test_saving.py tests/test_fast_model.py \
	tests/test_distribution.py tests/test_row_sequence.py tests/test_fast_lstm.py \
	tests/test_legacy_files.py tests/test_backend.py \
	--deselect tests/test_fast_lstm.py::test_torch_backend_subprocess \
	--deselect tests/test_backend.py::test_torch_backend_subprocess
MIN_TESTS_TORCH ?= tests/test_fast_model.py tests/test_fast_lstm.py \
	tests/test_backend.py tests/test_legacy_files.py

.PHONY: demo test lint test-tensorflow test-jax test-torch test-min bench clean docs dist test-installed import-time

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[jax,examples,test]"
	touch $(STAMP)

# The docs and dist tools go into the same venv, on demand.
$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[jax,examples,test,docs,dist]"
	touch $(DOCS_STAMP)

# Nothing is trained or downloaded. The CIFAR-10 reproduction of the sources is one
# command away: python examples/cifar_deblur.py --data PATH (docs/examples.md).
demo: $(STAMP)
	$(PY) examples/photo_demo.py --output outputs/demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test-tensorflow: $(STAMP)
	KERAS_BACKEND=tensorflow $(PY) $(PYTEST) $(PYTEST_ARGS)

test-jax: $(STAMP)
	KERAS_BACKEND=jax $(PY) $(PYTEST) $(BACKEND_NEUTRAL_SKIP) $(PYTEST_ARGS)

test: lint test-tensorflow test-jax

$(TORCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	touch $(TORCH_STAMP)

test-torch: $(TORCH_STAMP)
	KERAS_BACKEND=torch $(TORCH_TEST_ENV) $(PY) $(PYTEST) $(BACKEND_NEUTRAL_SKIP) \
		$(PYTEST_ARGS)

$(MIN_STAMP): pyproject.toml $(MIN_VERSIONS)
	test -x $(MIN_PY) || $(PYTHON) -m venv $(MIN_VENV)
	$(MIN_PY) -m pip install --quiet --upgrade pip
	$(MIN_PY) -m pip install --quiet $(MIN_PIP_ARGS) -c $(MIN_VERSIONS) -e ".[torch,examples,test]"
	touch $(MIN_STAMP)

# KERAS_SEQIMAGE_TEST_MIN=1: a test checks that the pinned releases are the ones installed.
test-min: $(MIN_STAMP)
	KERAS_BACKEND=tensorflow KERAS_SEQIMAGE_TEST_MIN=1 $(MIN_PY) $(PYTEST) \
		$(MIN_TESTS_TENSORFLOW) $(PYTEST_ARGS)
	KERAS_BACKEND=torch KERAS_SEQIMAGE_TEST_MIN=1 $(TORCH_TEST_ENV) $(MIN_PY) $(PYTEST) \
		$(MIN_TESTS_TORCH) $(PYTEST_ARGS)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

dist: $(DOCS_STAMP)
	rm -rf dist
	$(PY) -m build --outdir dist .

# Tests the wheel as a user gets it: a fresh venv in a temporary folder, the wheel
# with its `test` and `examples` extras, and copies of tests/ (plus the files some
# tests read: README.md, docs/, examples/, benchmarks/, pyproject.toml for pytest's
# settings) with no src/ beside them, so only the installed package can be imported.
test-installed: dist
	set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	mkdir "$$tmp/project"; \
	cp -r tests README.md pyproject.toml "$$tmp/project/"; \
	for d in docs examples benchmarks; do if [ -d $$d ]; then cp -r $$d "$$tmp/project/"; fi; done; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install --quiet --upgrade pip; \
	wheel=$$(ls dist/*.whl); \
	"$$tmp/venv/bin/python" -m pip install --quiet "$$wheel[test,examples]"; \
	cd "$$tmp/project"; \
	export KERAS_BACKEND=$(INSTALLED_BACKEND) KERAS_SEQIMAGE_TEST_INSTALLED=1; \
	export KERAS_SEQIMAGE_DATA="$${KERAS_SEQIMAGE_DATA:-$(abspath ../shared/data)}"; \
	"$$tmp/venv/bin/python" $(PYTEST) -p no:cacheprovider $(INSTALLED_SKIP) $(PYTEST_ARGS) tests; \
	"$$tmp/venv/bin/python" -m pytest -p no:cacheprovider --pyargs keras_seqimage

import-time: $(STAMP)
	$(PY) benchmarks/import_time.py

# The benchmarks (benchmarks/README.md) at shorter settings than the Performance page's
# (minutes in all); each script runs every backend it names in a process of its own and
# skips one that is not installed. layer_cost.py is for torch: skipped without it.
bench: $(STAMP)
	$(PY) benchmarks/speed_table.py --quick
	if $(PY) -c "import torch" 2>/dev/null; then \
		KERAS_BACKEND=torch $(PY) benchmarks/layer_cost.py --steps 10 --rounds 5; \
	else echo "layer_cost.py: torch not installed, skipped (make test-torch installs it)"; fi
	$(PY) benchmarks/train_speed.py --images 6400
	$(PY) benchmarks/blur_speed.py --images 2000
	$(PY) benchmarks/import_time.py --runs 3
	$(PY) benchmarks/network_precision.py --size 512 --repeats 3

clean:
	rm -rf $(VENV) $(MIN_VENV) outputs build dist site .pytest_cache .hypothesis
