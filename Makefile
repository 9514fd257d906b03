# The two commands of the course: `make lab` and `make test`.
# Both create the local virtual environment .venv on first use and refresh it
# whenever pyproject.toml changes. Nothing is installed outside .venv.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.tflab-installed
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

.PHONY: lab test course venv clean-venv

venv: $(STAMP) $(KERNEL_CONFIG)

# TensorFlow's C++ log lines arrive on the process's stderr at unpredictable moments;
# they go to the terminal that runs Jupyter rather than into notebook outputs.
$(KERNEL_CONFIG): $(STAMP)
	mkdir -p $(dir $@)
	printf '%s\n' "# Written by make: TensorFlow's C++ log lines go to the terminal, not into notebooks." \
		"c.IPKernelApp.capture_fd_output = False" > $@

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "tflab needs Python 3.10 or newer; found " + sys.version.split()[0] + " (set PYTHON=python3.x)")'
	@$(PY) -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); } || { \
		rm -rf $(VENV); echo "could not create $(VENV): on Debian/Ubuntu run 'sudo apt-get install python3-venv'"; exit 1; }
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[test]"
	touch $(STAMP)

lab: $(STAMP) $(KERNEL_CONFIG)
	$(JUPYTER_ENV) $(VENV)/bin/jupyter lab --notebook-dir=notebooks $(ARGS)

# pytest on tests/ and nbval on notebooks/, in one run and one summary.
test: $(STAMP) $(KERNEL_CONFIG)
	$(JUPYTER_ENV) $(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=900 $(PYTEST_ARGS)

# Run every notebook in a fresh kernel; executed copies, HTML and summary.md in reports/.
course: $(STAMP) $(KERNEL_CONFIG)
	$(JUPYTER_ENV) $(PY) -m tflab run $(ARGS)

clean-venv:
	rm -rf $(VENV)
