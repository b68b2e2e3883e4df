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
	@# 50-80 s on 2 cores); if uv cannot be had, pip does the install.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt uv && \
	  $(BIN)/python -m uv pip install --quiet --python $(BIN)/python -c constraints.txt -e ".[course,test]" || \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[course,test]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/captcha-lab run --out runs

# Two pytest runs side by side, each with one TensorFlow thread (ONE_THREAD).
# - The first runs the chapters in order, each reading what the ones before it saved: chapters 1-5,
#   then the solutions of chapters 2-4 (which read the letters, forest and CNN of chapters 1-3), then
#   BALANCE: the solutions of chapter 1 and the unit tests of chapter 6's module (they need nothing
#   from the chapters; they run here only to even out the two runs' times).
# - The second, at a lower priority, runs what needs nothing from chapters 1-5: chapter 6 and its
#   solutions (which read the reader chapter 6 saves), the other unit tests (each in its own temporary
#   folder) and the solutions of chapter 5 (they draw all their own captchas). Its report is printed
#   when both runs are done.
#   Each run lists its slowest tests at the end (--durations).
# One thread each, because the course's networks are small: a second thread trains chapter 5's reader
# only about a tenth faster on an idle machine, and two runs of two threads on two cores spend their
# time waiting for each other (chapter 5's training took 1.7 to 2.1 times as long as alone). A
# notebook's numbers depend on the threads (sums are added up in another order), so `make notebooks`
# runs every notebook with one thread too, and the stored outputs match what the test computes.
# pytest exits 5 when it collected nothing: make treats that, like any non-zero code, as failure.
CHAPTERS := $(sort $(wildcard notebooks/0[1-5]_*.ipynb))
FIRST_RUN_SOLUTIONS := $(sort $(wildcard notebooks/solutions/0[2-4]_*.ipynb))
FEW_LABELS := notebooks/06_few_labels.ipynb \
              notebooks/solutions/06_few_labels_solutions.ipynb
BALANCE := notebooks/solutions/01_data_preparation_solutions.ipynb tests/test_transfer.py
SELF_CONTAINED := notebooks/solutions/01_data_preparation_solutions.ipynb \
                  notebooks/solutions/05_ctc_whole_captcha_solutions.ipynb
INDEPENDENT := $(FEW_LABELS) $(SELF_CONTAINED)
ONE_THREAD := TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1
PYTEST := $(BIN)/python -m pytest --durations=8

test: $(STAMP)
	@export $(ONE_THREAD); log=$$(mktemp); \
	  nice -n 10 $(PYTEST) $(FEW_LABELS) tests $(filter-out $(BALANCE),$(SELF_CONTAINED)) \
	    $(addprefix --ignore=,$(filter tests/%,$(BALANCE))) > $$log 2>&1 & others=$$!; \
	  $(PYTEST) $(CHAPTERS) $(FIRST_RUN_SOLUTIONS) $(BALANCE); first=$$?; \
	  wait $$others; rest=$$?; \
	  echo "---- chapter 6, unit tests and solutions 05 ----"; cat $$log; rm -f $$log; \
	  for status in $$rest $$first; do \
	    if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; \
	  done; \
	  for status in $$rest $$first; do \
	    if [ $$status -ne 0 ]; then exit $$status; fi; \
	  done

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# For contributors: re-execute every notebook in place with the test settings (commit the result).
notebooks: $(STAMP)
	$(ONE_THREAD) $(BIN)/python -m helpers.course --execute $(filter-out $(INDEPENDENT),$(sort $(wildcard notebooks/[0-9]*.ipynb)) \
	  $(sort $(wildcard notebooks/solutions/[0-9]*.ipynb)))
	$(ONE_THREAD) $(BIN)/python -m helpers.course --execute $(INDEPENDENT)

clean-venv:
	rm -rf $(VENV)
