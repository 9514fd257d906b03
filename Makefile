# The two commands of the course: `make lab` and `make test`.
# Both create the local virtual environment .venv on first use and refresh it
# whenever pyproject.toml or constraints.txt changes. Nothing is installed outside .venv.
# constraints.txt pins every package's exact version (all supported Pythons, one file);
# `make lock` regenerates it from pyproject.toml. `make lint` runs ruff.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.tflab-installed
LOCK   := constraints.txt
# uv's version that writes $(LOCK); it runs from a throw-away environment, never .venv.
UV_VERSION := 0.13.9
KERNEL_CONFIG := $(VENV)/etc/ipython/ipython_kernel_config.py
ARGS   ?=
PYTEST_ARGS ?=

# Notebooks run with notebooks/ as their working directory, so a relative data
# directory must be made absolute before it reaches them.
ifdef TFLAB_DATA_DIR
export TFLAB_DATA_DIR := $(shell $(PYTHON) -c 'import os, sys; print(os.path.abspath(os.path.expanduser(sys.argv[1])))' "$(TFLAB_DATA_DIR)")
endif

# Jupyter's per-user files (kernels, settings, runtime) stay inside .venv, so
# the course registers nothing globally and a global kernel cannot shadow ours.
JUPYTER_ENV := JUPYTER_DATA_DIR="$(CURDIR)/$(VENV)/share/jupyter" \
               JUPYTER_CONFIG_DIR="$(CURDIR)/$(VENV)/etc/jupyter" \
               JUPYTERLAB_SETTINGS_DIR="$(CURDIR)/$(VENV)/etc/jupyter/lab/user-settings" \
               JUPYTERLAB_WORKSPACES_DIR="$(CURDIR)/$(VENV)/etc/jupyter/lab/workspaces"

.PHONY: lab test test-portable lint lock course venv clean-venv test-ui \
        real-estimator-env test-estimator

venv: $(STAMP) $(KERNEL_CONFIG)

# TensorFlow's C++ log lines arrive on the process's stderr at unpredictable moments;
# they go to the terminal that runs Jupyter rather than into notebook outputs.
$(KERNEL_CONFIG): $(STAMP)
	mkdir -p $(dir $@)
	printf '%s\n' "# Written by make: TensorFlow's C++ log lines go to the terminal, not into notebooks." \
		"c.IPKernelApp.capture_fd_output = False" > $@

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 13) else "tflab needs Python 3.10 to 3.13 (TensorFlow 2.21 has no wheels for others); found " + sys.version.split()[0] + " (set PYTHON=python3.x)")'
	@$(PY) -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); } || { \
		rm -rf $(VENV); echo "could not create $(VENV): on Debian/Ubuntu run 'sudo apt-get install python3-venv'"; exit 1; }
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -c $(LOCK) -e ".[test]"
	touch $(STAMP)

lab: $(STAMP) $(KERNEL_CONFIG)
	$(JUPYTER_ENV) $(VENV)/bin/jupyter lab --notebook-dir=notebooks $(ARGS)

# pytest on tests/ and nbval on notebooks/, in one run and one summary. pytest-xdist runs
# TEST_WORKERS processes: lessons 00-05 in order in one of them, lessons 06-09 in order in
# another (tests/conftest.py's scheduler), the unit tests spread over all. TEST_WORKERS=0 runs
# everything in one.
TEST_WORKERS ?= 2
test: $(STAMP) $(KERNEL_CONFIG)
	$(JUPYTER_ENV) $(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=900 -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The notebooks again, as another student's x86-64 machine computes them: oneDNN's kernels
# limited to AVX2 (no AVX-512 or AMX), one intra-op thread (a small laptop), OpenBLAS's AVX2
# (Haswell) kernels on one thread, NumPy without its AVX-512 loops. Every checked cell must still
# match the committed outputs, which are saved on an AVX-512 machine with two cores. Needs a CPU
# with AVX2. It does not emulate ARM (Apple silicon), macOS or Windows builds, or a GPU.
PORTABLE_ENV := ONEDNN_MAX_CPU_ISA=AVX2 TF_NUM_INTRAOP_THREADS=1 OPENBLAS_CORETYPE=Haswell \
                OPENBLAS_NUM_THREADS=1 NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR"
test-portable: $(STAMP) $(KERNEL_CONFIG)
	$(JUPYTER_ENV) $(PORTABLE_ENV) $(PY) -m pytest notebooks --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=900 -n 0 $(PYTEST_ARGS)

# The course as students meet it (tests_ui/, not part of `make test`): `make lab` on a free
# port with a token, driven by a headless Chromium through Playwright: notebook 01 Run All,
# notebook 05 without lesson 04's files. The browser is Debian's chromium package (installed
# with apt-get when missing and make runs as root; CHROMIUM=path picks another); the `ui`
# extra adds Playwright to .venv. Screenshots of each step and the server's log: reports/ui/.
UI_STAMP := $(VENV)/.tflab-ui-installed
CHROMIUM ?= chromium

$(UI_STAMP): $(STAMP)
	$(PY) -m pip install -c $(LOCK) -e ".[test,ui]"
	touch $@

test-ui: $(UI_STAMP) $(KERNEL_CONFIG)
	@sh tests_ui/install_chromium.sh "$(CHROMIUM)"
	TFLAB_CHROMIUM="$(CHROMIUM)" $(PY) -m pytest tests_ui $(PYTEST_ARGS)

# The real tf.estimator, for tests_estimator/ (not part of `make test`): TensorFlow 2.15.1 and
# tensorflow-estimator 2.15.0 (the last release that shipped it, wheels for Python 3.9 to 3.11
# only) in a throw-away environment made by REAL_TF_PYTHON. It lives outside the repository and
# outside .venv, in the user's cache, in a folder named by the hash of its requirements file, so
# editing that file builds a new one. Only a complete install is marked done: a failed one is
# removed, and an unmarked folder (an interrupted install) is built again.
REAL_TF_PYTHON ?= python3.11
REAL_TF_REQUIREMENTS := tests_estimator/requirements-tf215.txt
REAL_TF_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/tflab
REAL_TF_HASH = $(shell $(PYTHON) -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest()[:16])' $(REAL_TF_REQUIREMENTS))
REAL_TF_ENV = $(REAL_TF_CACHE)/real-tf215-$(REAL_TF_HASH)

real-estimator-env:
	@if [ -f "$(REAL_TF_ENV)/.tflab-installed" ]; then echo "real tf.estimator: $(REAL_TF_ENV)"; exit 0; fi; \
	$(REAL_TF_PYTHON) -c 'import sys; sys.exit(not (3, 9) <= sys.version_info[:2] <= (3, 11))' 2>/dev/null || { \
		echo "error: the real tf.estimator needs Python 3.9, 3.10 or 3.11 (TensorFlow 2.15 has wheels for" \
		     "those only), and '$(REAL_TF_PYTHON)' is missing or another version: install one and set" \
		     "REAL_TF_PYTHON, e.g. make $(MAKECMDGOALS) REAL_TF_PYTHON=/usr/bin/python3.11" >&2; exit 1; }; \
	echo "building the real tf.estimator's environment in $(REAL_TF_ENV)"; \
	rm -rf "$(REAL_TF_ENV)" && mkdir -p "$(REAL_TF_CACHE)" \
	&& $(REAL_TF_PYTHON) -m venv "$(REAL_TF_ENV)" \
	&& "$(REAL_TF_ENV)/bin/python" -m pip install -q -r $(REAL_TF_REQUIREMENTS) \
	&& touch "$(REAL_TF_ENV)/.tflab-installed" || { \
		rm -rf "$(REAL_TF_ENV)"; echo "error: could not build $(REAL_TF_ENV) (see pip's output above)" >&2; exit 1; }

# tflab.estimator against the real tf.estimator: tests_estimator/ runs each scenario through both
# (the real one in the environment above, its python given by TFLAB_REAL_TF_PYTHON) and compares
# what a user sees. pytest itself runs in .venv.
test-estimator: $(STAMP) real-estimator-env
	TFLAB_REAL_TF_PYTHON="$(REAL_TF_ENV)/bin/python" $(PY) -m pytest tests_estimator $(PYTEST_ARGS)

# ruff's checks (configured in pyproject.toml; its formatter is not used, see there).
lint: $(STAMP)
	$(PY) -m ruff check .

# Re-pin every package after a change to pyproject.toml's requirements: one file for
# Python 3.10 to 3.13 (versions that differ by Python carry markers). Needs the network.
lock:
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PYTHON) -m venv "$$tmp" && "$$tmp/bin/pip" install -q "uv==$(UV_VERSION)" && \
	"$$tmp/bin/uv" pip compile pyproject.toml --extra test --extra ui --universal --python-version 3.10 \
		--custom-compile-command "make lock" -o $(LOCK)

# Run every notebook in a fresh kernel: the terminal shows a progress bar and the summary
# (make's echo of the command is hidden too); executed copies, HTML, summary.md and
# course.log (everything else the kernels and Jupyter print) go to reports/.
course: $(STAMP) $(KERNEL_CONFIG)
	@$(JUPYTER_ENV) $(PY) -m tflab run $(ARGS)

clean-venv:
	rm -rf $(VENV)
