# Two commands for a new user: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
.DEFAULT_GOAL := help

ENGINE := .venv-rasa
APP := .venv
ENGINE_PY := $(ENGINE)/bin/python
APP_PY := $(APP)/bin/python
RASA := $(ENGINE)/bin/rasa
APP_PYTHON ?= python3
export PYTHONPATH := $(CURDIR)
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: help setup run run-cluster test test-engine test-app test-deploy train lint bench bench-tasks bench-turn bench-load clean

help:
	@echo "make run    set up, train if needed, start Rasa + action server + gateway (:8000)"
	@echo "make run-cluster  the same front door (:8000) on HAProxy, PostgreSQL, Redis: 2 of each process"
	@echo "make test   set up, train if needed, run every test suite of both environments"
	@echo "make train  train the Rasa model if its inputs changed"
	@echo "make lint   ruff (everything) and mypy (app environment)"
	@echo "make bench  NLU against stock Rasa; voice against plain Vosk / espeak-ng"
	@echo "make bench-tasks  simulated residents through the real stack, vs. BASELINE (777f3cc)"
	@echo "make bench-turn   one text turn straight at Rasa, p50/p95 per message, vs. 7bf33da"
	@echo "make bench-load   turns/s, p50/p95 at 25/50/100 residents: make run, then the cluster"
	@echo "make test-deploy  render deploy/overlays/production and validate it offline (strict)"

# Engine environment: Python 3.10, Rasa 3.6 (pydantic 1, TensorFlow 2.12).
$(ENGINE)/.installed: requirements/engine.lock
	@test -x $(ENGINE_PY) || "$$(scripts/find-python310)" -m venv $(ENGINE)
	$(ENGINE_PY) -m pip install --quiet --upgrade pip
	$(ENGINE_PY) -m pip install --quiet --no-deps -r requirements/engine.lock
	@touch $@

# App environment: Python >= 3.11, FastAPI gateway (pydantic 2).
$(APP)/.installed: requirements/app.lock
	@test -x $(APP_PY) || $(APP_PYTHON) -m venv $(APP)
	$(APP_PY) -m pip install --quiet --upgrade pip
	$(APP_PY) -m pip install --quiet --no-deps -r requirements/app.lock
	@touch $@

setup: $(ENGINE)/.installed $(APP)/.installed

train: setup
	$(APP_PY) -m scripts.model_cache

run: setup
	$(APP_PY) -m scripts.stack

# PostgreSQL, Redis and HAProxy are Debian packages: `sudo bash scripts/system-deps.sh`.
run-cluster: setup
	$(APP_PY) -m scripts.cluster

test: setup train lint test-engine test-app

test-engine: setup
	$(ENGINE_PY) -m pytest tests/engine -q
	$(RASA) data validate --domain domain.yml --data data --config config.yml
	$(ENGINE_PY) -m scripts.evaluate_nlu --model "$$($(APP_PY) -m scripts.model_cache --print-path)" \
		--min-intent-accuracy 0.94 --min-id-f1 0.95 --max-noise-acting 0.05
	@mkdir -p var/test-results
	$(RASA) test core --model "$$($(APP_PY) -m scripts.model_cache --print-path)" \
		--stories tests/test_stories.yml --fail-on-prediction-errors --out var/test-results \
		> var/test-results/core.log 2>&1 \
		|| { tail -n 60 var/test-results/core.log; cat var/test-results/failed_test_stories.yml; exit 1; }
	@grep -E "Correct|Accuracy" var/test-results/core.log | sed 's/.*rasa.core.test  - /conversation tests: /' | head -n 2

test-app: setup
	RASA_MODEL="$$($(APP_PY) -m scripts.model_cache --print-path)" $(APP_PY) -m pytest tests/app -q
	$(APP_PY) -m pytest tests/voice -q
	RASA_MODEL="$$($(APP_PY) -m scripts.model_cache --print-path)" $(APP_PY) -m pytest tests/browser -q

# deploy/: the production overlay rendered by kubectl's kustomize, every object validated
# against the Kubernetes schemas offline (tests/app/test_deploy.py checks more).
test-deploy: setup
	@mkdir -p var/test-results
	kubectl kustomize deploy/overlays/production > var/test-results/production.yaml
	$(APP)/bin/kubernetes-validate --strict --quiet var/test-results/production.yaml
	@echo "deploy/overlays/production: valid"

lint: setup
	$(APP)/bin/ruff check .
	$(APP)/bin/ruff format --check .
	$(APP)/bin/mypy bot channels voice scripts tests/live_server.py tests/app tests/browser

bench: setup train
	$(ENGINE_PY) -m scripts.bench_nlu
	$(APP_PY) -m scripts.bench_voice
	$(APP_PY) -m scripts.bench_handoff

# Task success of simulated residents, this tree vs. the commit BASELINE (own worktree and
# model under var/bench/baseline). Engine env: the personas' homophones need pypinyin.
BASELINE ?= 777f3cc
bench-tasks: setup train
	$(ENGINE_PY) -m scripts.bench_tasks --baseline $(BASELINE)

# Issue 11. A turn's cost at Rasa's REST channel, this tree vs. BENCH_TURN_BASELINE (a
# worktree under var/bench/turn-baseline), both stacks up at once, taking turns.
BENCH_TURN_BASELINE ?= 7bf33da
bench-turn: setup train
	$(APP_PY) -m scripts.bench_turn --baseline $(BENCH_TURN_BASELINE)

# Closed-loop load through the gateway: make run's stack, then the cluster's (scripts.cluster,
# when PostgreSQL, Redis and HAProxy are installed), in one run.
bench-load: setup train
	$(APP_PY) -m scripts.bench_load

clean:
	rm -rf models var/test-results
