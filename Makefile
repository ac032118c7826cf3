# Two entry points: `make demo` installs everything into .venv and runs the
# whole workflow on the built-in (simulated) demo data; `make test` installs
# the same environment and runs the test suite.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Extra pip options for torch, e.g. TORCH_PIP_ARGS="--index-url
# https://download.pytorch.org/whl/cu126" for a CUDA build.
TORCH_PIP_ARGS ?=
CORES ?= all
PYTEST_ARGS ?=

.PHONY: demo test report clean-results

demo: $(VENV)/.installed
	$(BIN)/snakemake --profile workflow/profiles/default --cores $(CORES)
	$(BIN)/snakemake --profile workflow/profiles/default --cores $(CORES) \
		--report results/report.html

test: $(VENV)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

report: $(VENV)/.installed
	$(BIN)/snakemake --profile workflow/profiles/default --cores $(CORES) \
		--report results/report.html

$(VENV)/.installed: pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned, so that a later requirement cannot replace the
	# build that TORCH_PIP_ARGS selected (see docs/cluster.md).
	$(BIN)/python -m pip install --quiet torch==2.13.0 $(TORCH_PIP_ARGS)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

clean-results:
	rm -rf results/demo .snakemake/incomplete
