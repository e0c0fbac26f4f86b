# Two commands: `make run` runs the example review, `make test` runs the tests.
# Both create .venv from the pinned lock file the first time.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.scimeta-installed
SLURM_STAMP := $(VENV)/.scimeta-slurm-installed
CORES ?= 2

SNAKEMAKE := $(BIN)/snakemake -s workflow/Snakefile

.PHONY: run review run-examples test test-fast test-slurm lint format report bench clean-results reference

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The SLURM executor plugin (the optional extra `slurm`), pinned in requirements-slurm.lock.
$(SLURM_STAMP): $(STAMP) requirements-slurm.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-slurm.lock
	touch $(SLURM_STAMP)

# The environment that keeps the caches of Snakemake and matplotlib inside review folder $(1)
# (an absolute path; .snakemake/cache exists): see run_review.
review_env = XDG_CACHE_HOME="$(1)/.snakemake/cache" MPLCONFIGDIR="$(1)/.snakemake/cache/matplotlib"

# Run one review folder, resuming safely after an interrupted run: the profile
# (workflow/profiles/default) re-runs the jobs a killed run left incomplete, and the lock a
# killed Snakemake left behind is removed (--unlock) only while this make holds the review's
# lock file (flock) and no Snakemake process works in the folder (its working directory; a
# Snakemake process is one whose program or script is .../snakemake, so that this shell, its
# flock and its grep, whose command lines name snakemake too, are not taken for one).
# The caches Snakemake and matplotlib would keep in the home folder go inside the review, under
# .snakemake/cache: Snakemake's source cache (XDG_CACHE_HOME; Snakemake creates it before it
# reads the Snakefile, so only the environment it starts in can move it) and matplotlib's
# configuration and font cache (MPLCONFIGDIR). Temporary files stay in TMPDIR: the sockets
# of the worker pool need a path shorter than a review's may be.
define run_review
	mkdir -p $(1)/.snakemake/cache
	flock --nonblock $(1)/.snakemake/make-run.lock sh -c '\
	  dir="$$(cd $(1) && pwd)"; \
	  export $(call review_env,$$dir); \
	  if [ -n "$$(ls -A $(1)/.snakemake/locks 2>/dev/null)" ]; then \
	    for p in /proc/[0-9]*; do \
	      if [ "$$(readlink $$p/cwd 2>/dev/null)" = "$$dir" ] && \
	        tr "\\0" "\\n" < $$p/cmdline 2>/dev/null | head -n 2 | grep -q "/snakemake$$"; then \
	        echo "make run: a Snakemake process ($${p#/proc/}) works in $(1)" >&2; exit 1; fi; \
	    done; \
	    $(SNAKEMAKE) -d $(1) --unlock --quiet; fi && \
	  $(SNAKEMAKE) -d $(1)' \
	  || { echo "make run: $(1) failed, or another make run holds it" >&2; exit 1; }
endef

run: $(STAMP)
	$(call run_review,.)
	$(call run_review,examples/stroke_nsc)

# Your own review: make review REVIEW=path/to/review (what `make run` does for the example).
review: $(STAMP)
	@test -n "$(REVIEW)" && test -d "$(REVIEW)" || \
	  { echo "make review: name the review folder, e.g. make review REVIEW=path/to/review" >&2; exit 1; }
	$(call run_review,$(REVIEW))

# The published reviews under examples/ (Hodgkiss 2023: data/raw built from the authors' sheets).
EXAMPLES := normand1999 curtis1998 gibson2002 morris2008
run-examples: $(STAMP)
	for review in $(EXAMPLES) hodgkiss2023; do \
		mkdir -p examples/$$review/.snakemake/cache || exit 1; \
	done
	for review in $(EXAMPLES); do \
		$(call review_env,$(CURDIR)/examples/$$review) \
		  $(SNAKEMAKE) --cores $(CORES) -d examples/$$review || exit 1; \
	done
	$(BIN)/python examples/hodgkiss2023/make_raw.py
	$(call review_env,$(CURDIR)/examples/hodgkiss2023) \
	  $(SNAKEMAKE) --cores $(CORES) -d examples/hodgkiss2023
	$(BIN)/python examples/hodgkiss2023/reproduce.py

# results/report.html (the self-contained page a reviewer opens; also built by `make run`),
# then the Snakemake report of the run, results/report.zip.
report: $(STAMP)
	mkdir -p .snakemake/cache
	$(call review_env,$(CURDIR)) $(SNAKEMAKE) --cores $(CORES) results/report.html
	$(call review_env,$(CURDIR)) $(SNAKEMAKE) --cores 1 --report results/report.zip

# The whole suite on 2 processes (pytest-xdist), each test file on one of them, so that the
# workflow tests of a file share one run of each review (tests/conftest.py).
test: $(STAMP)
	$(BIN)/python -m pytest -n $(CORES) --dist loadfile -m "not slurm"

# The example review on a single-node SLURM cluster started on this machine, through
# workflow/profiles/slurm, against a local run (a few minutes; as root, with Debian's slurm-wlm
# and munge, which .ci/install-slurm installs when they are missing; the test is skipped,
# saying why, where they cannot be installed).
test-slurm: $(SLURM_STAMP)
	.ci/install-slurm
	$(BIN)/python -m pytest -s -m slurm tests/test_slurm.py

# Unit and reference tests, without running Snakemake (about a minute).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n $(CORES) -m "not workflow"

lint: $(STAMP)
	$(SNAKEMAKE) --lint
	$(BIN)/snakefmt --check Snakefile workflow/Snakefile workflow/rules

format: $(STAMP)
	$(BIN)/snakefmt Snakefile workflow/Snakefile workflow/rules

bench: $(STAMP)
	$(BIN)/python benchmarks/pipeline.py
	$(BIN)/python benchmarks/stages.py
	$(BIN)/python benchmarks/vs_metafor.py
	$(BIN)/python benchmarks/figures.py

# Regenerate the metafor reference values (needs R with metafor, metadat, jsonlite, readxl, yaml).
reference:
	Rscript tests/reference/make_reference.R

clean-results:
	rm -rf results data/processed logs .snakemake
