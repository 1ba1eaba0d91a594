# The front door: `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help dev demo test chaos lint format up clean bench eval-extract images compose-e2e

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

dev: $(STAMP) ## create .venv with every service and the dev tools (.venv/bin/kbm)

test: $(STAMP) ## run the tests (needs PostgreSQL and Redis on their standard ports)
	$(BIN)/pytest $(PYTEST_ARGS)

chaos: $(STAMP) ## kill workers, flush Redis, restart PostgreSQL mid-run: nothing lost, nothing twice
	$(BIN)/pytest -m chaos tests/chaos -s $(PYTEST_ARGS)

lint: $(STAMP) ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

demo: $(STAMP) ## import the sample articles end to end in local mode (no Redis, no PostgreSQL)
	$(BIN)/python -m demo

images: $(STAMP) ## build every image of docker-compose.yml (stand-ins and a wheelhouse where offline)
	PIP=$(BIN)/pip deploy/images/build

compose-e2e: $(STAMP) ## the compose stack end to end on the images of make images (--scale parser=3, faults)
	$(BIN)/pytest -m compose tests/deploy -s $(PYTEST_ARGS)

up: $(STAMP) ## run the gateway and every worker locally against REDIS_URL/DATABASE_URL
	$(BIN)/kbm up

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info

bench: $(STAMP) ## run every benchmark under bench/ and print its figures (never fails on time)
	@for b in bench/bench_*.py; do echo "# $$b"; $(BIN)/python -m bench.$$(basename $$b .py) || exit 1; done

eval-extract: $(STAMP) ## score the extractors on ../shared/data: the article pages and the WCXB dev split, per page type
	$(BIN)/python -m bench.eval_extract
