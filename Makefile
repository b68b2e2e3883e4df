# Learning Captchas — everything a learner or CI needs, from a fresh clone.
#   make run    set up .venv if needed, then execute the whole notebook series
#   make test   set up .venv if needed, then run unit tests and nbval over every notebook
#   make lab    open JupyterLab to follow the course cell by cell

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Same hashing of strings in every notebook and test started from here (TensorFlow's own
# settings are applied by helpers/backend.py before it loads).
export PYTHONHASHSEED := 0

.PHONY: run test lab notebooks install clean-venv help
.DEFAULT_GOAL := help

help:
	@echo "make run    run the whole notebook series on generated data (results in runs/)"
	@echo "make test   unit tests + nbval over every notebook"
	@echo "make lab    open JupyterLab in the project's virtual environment"

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed: run make PYTHON=python3.11 (or similar)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# uv installs the same pinned versions as pip in a fraction of the time (about 15 s instead of
	@# 50-80 s on 2 cores); if uv cannot be had, pip does the install. Both compile the packages to
	@# bytecode once here (uv: --compile-bytecode, about 5 s more; pip does it by default): where
	@# PYTHONDONTWRITEBYTECODE is set, every process would otherwise compile TensorFlow's sources again
	@# when it imports them (10.5 s instead of 4.5 s for each kernel and test process).
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt uv && \
	  $(BIN)/python -m uv pip install --quiet --compile-bytecode --python $(BIN)/python -c constraints.txt -e ".[course,test,baselines]" || \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[course,test,baselines]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/captcha-lab run --out runs

# Unit tests and nbval over every notebook in two processes (pytest-xdist), each with one TensorFlow
# thread (ONE_THREAD). tests/conftest.py gives pytest-xdist the groups to hand out whole: every
# notebook's cells (one kernel); chapters 1-5 in course order (each reads what the ones before it
# saved); chapter 6 and its solutions; the solutions of chapters 2-4, which wait before their first
# cell until chapters 1-3 have run (they read the letters, forest and CNN those save). The unit tests
# and the other solutions fill in wherever a process is free. --no-loadscope-reorder hands the groups
# out in the order pytest collects them (notebooks first, so the longest groups start first); the
# conftest is loaded only when tests/ is among the paths.
# One thread each, because the course's networks are small: a second thread trains chapter 5's reader
# only about a tenth faster on an idle machine, and two processes of two threads on two cores spend
# their time waiting for each other. A notebook's numbers depend on the threads (sums are added up in
# another order), so `make notebooks` runs every notebook with one thread too, and the stored outputs
# match what the test computes. The slowest tests are listed at the end (--durations).
# pytest exits 5 when it collected nothing: make treats that, like any non-zero code, as failure.
ONE_THREAD := TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1
# Chapter 6 draws its stream in the kernel: with both cores busy, a drawing process beside it cost more
# than it saved (the captchas, and so every number, are the same either way).
TEST_SETTINGS := $(ONE_THREAD) CAPTCHA_PRETRAIN_WORKERS=0

test: $(STAMP)
	$(TEST_SETTINGS) $(BIN)/python -m pytest -n 2 --no-loadscope-reorder --durations=10 \
	  notebooks tests

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# For contributors: re-execute every notebook in place with the test settings (commit the result).
notebooks: $(STAMP)
	$(TEST_SETTINGS) $(BIN)/python -m helpers.course --execute $(sort $(wildcard notebooks/[0-9]*.ipynb)) \
	  $(sort $(wildcard notebooks/solutions/[0-9]*.ipynb))

clean-venv:
	rm -rf $(VENV)
