# Two commands: `make run` runs the example review, `make test` runs the tests.
# Both create .venv from the pinned lock file the first time.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.scimeta-installed
CORES ?= 2

.PHONY: run run-examples test lint format report bench clean-results reference

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake -s Snakefile --cores $(CORES)
	$(BIN)/snakemake -s Snakefile --cores $(CORES) -d examples/stroke_nsc

# The published reviews under examples/ (Hodgkiss 2023: data/raw built from the authors' sheets).
EXAMPLES := normand1999 curtis1998 gibson2002 morris2008
run-examples: $(STAMP)
	for review in $(EXAMPLES); do \
		$(BIN)/snakemake -s Snakefile --cores $(CORES) -d examples/$$review || exit 1; \
	done
	$(BIN)/python examples/hodgkiss2023/make_raw.py
	$(BIN)/snakemake -s Snakefile --cores $(CORES) -d examples/hodgkiss2023
	$(BIN)/python examples/hodgkiss2023/reproduce.py

# results/report.html (the self-contained page a reviewer opens; also built by `make run`),
# then the Snakemake report of the run, results/report.zip.
report: $(STAMP)
	$(BIN)/snakemake -s Snakefile --cores $(CORES) results/report.html
	$(BIN)/snakemake -s Snakefile --cores 1 --report results/report.zip

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/snakemake -s Snakefile --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules

format: $(STAMP)
	$(BIN)/snakefmt Snakefile workflow/rules

bench: $(STAMP)
	$(BIN)/python benchmarks/pipeline.py
	$(BIN)/python benchmarks/figures.py

# Regenerate the metafor reference values (needs R with metafor, metadat, jsonlite, readxl, yaml).
reference:
	Rscript tests/reference/make_reference.R

clean-results:
	rm -rf results data/processed logs .snakemake
