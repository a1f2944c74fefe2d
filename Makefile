# Daydream: `make run` starts the site, `make test` runs every check. Both install what they need.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DEV_INSTALLED := $(VENV)/.dev-installed
BENCH_INSTALLED := $(VENV)/.bench-installed

.PHONY: run test lint assets worker bench bench-smoke screenshots clean help

help:
	@echo "make run     install and start the site on http://127.0.0.1:5000/ (SQLite, demo model)"
	@echo "make test    install dev tools, run ruff, the whole suite on SQLite, then on PostgreSQL"
	@echo "make assets  rebuild the CSS and vendored JS from the npm packages (needs Node)"
	@echo "make bench   run the benchmarks in bench/ (not part of the tests)"
	@echo "make bench-smoke  run each benchmark once with tiny settings (does it still run?)"
	@echo "make screenshots  run the browser tests and refresh docs/screenshots/ from them"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch is pinned to 2.13.0 in pyproject; installing it first keeps pip from resolving a
# multi-GB CUDA build. GPU users install their CUDA build of torch 2.13.0 before this.
$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[worker]"
	@touch $@

$(DEV_INSTALLED): $(INSTALLED)
	$(BIN)/pip install --quiet -e ".[worker,dev]"
	@touch $@

$(BENCH_INSTALLED): $(INSTALLED)
	$(BIN)/pip install --quiet -e ".[worker,bench]"
	@touch $@

run: $(INSTALLED)
	$(BIN)/daydream db upgrade
	$(BIN)/daydream serve

worker: $(INSTALLED)
	$(BIN)/daydream worker

lint: $(DEV_INSTALLED)
	$(BIN)/ruff check .

# The suite on SQLite, then again on PostgreSQL (127.0.0.1:5432, database `test`, a schema per
# run) for every test that uses the app's database. The engine, browser and real-process
# tests bring their own database or none, and tests/scale always runs on PostgreSQL, so
# they run once, in the first pass.
NOT_ON_POSTGRES := --ignore=tests/engine --ignore=tests/browser --ignore=tests/test_serve.py \
	--ignore=tests/test_deployment.py --ignore=tests/test_no_torch.py --ignore=tests/scale

test: $(DEV_INSTALLED)
	$(BIN)/ruff check .
	HF_HUB_OFFLINE=1 $(BIN)/pytest
	HF_HUB_OFFLINE=1 DAYDREAM_TEST_DATABASE=postgresql $(BIN)/pytest $(NOT_ON_POSTGRES)

assets:
	npm install --no-audit --no-fund
	npm run build

# Browser tests write to build/screenshots; refreshing the committed copies is a choice.
screenshots: $(DEV_INSTALLED)
	rm -rf build/screenshots
	HF_HUB_OFFLINE=1 $(BIN)/pytest -q tests/browser
	mkdir -p docs/screenshots
	cp build/screenshots/*.png docs/screenshots/

bench: $(BENCH_INSTALLED)
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# Every benchmark once with tiny settings (a few minutes): they run outside `make test`, so
# this is what notices one that no longer runs. Each must end on its headline line.
BENCH_SMOKE := \
	"engine.py --steps 2" "service.py --rounds 1 --sizes 64" "sdapi.py --rounds 1 --size 64" \
	"duty.py --tasks 4 --people 2" "batching.py --rounds 1 --people 2 --per-person 2 --batch 2" \
	"queue_overhead.py --tasks 5" "archive.py --images 40" "models.py --tasks 4 --rounds 1" \
	"load.py --db sqlite --people 3 --tasks 2000 --duration 5 --warmup 1"
bench-smoke: $(BENCH_INSTALLED)
	@mkdir -p build; for run in $(BENCH_SMOKE); do echo "== bench/$$run"; \
	  HF_HUB_OFFLINE=1 $(BIN)/python bench/$$run > build/bench-smoke.log 2>&1 \
	    || { tail -20 build/bench-smoke.log; exit 1; }; \
	  tail -1 build/bench-smoke.log | grep -E '^[a-z_]+: ' \
	    || { echo "no headline line"; tail -20 build/bench-smoke.log; exit 1; }; done

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache
