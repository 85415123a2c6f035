# Herald: `make run` starts the bot (a console chat when TELEGRAM_BOT_TOKEN is unset),
# `make test` runs the whole suite. Both create .venv and install what they need.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test coverage lint typecheck check bench lock mutate messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Pinned versions from the lock file first, then Herald itself without resolving again.
$(STAMP): pyproject.toml requirements-dev.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/herald run

# `make test COVERAGE=1` (what .ci/run calls) runs the same suite under branch coverage,
# subprocesses included, then the tests of code only PostgreSQL runs (PG_TRACED: leader
# election and fencing, LISTEN/NOTIFY, the shared rate row) on PostgreSQL (PG_URL), also
# traced; both stages' data are combined and the gate of .ci/coverage_gate.py applied to the sum.
PG_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
PG_TRACED := tests/test_replicas.py tests/test_replica_processes.py tests/test_shared_limit.py \
	tests/test_delivery_replicas.py
test: $(STAMP)
ifeq ($(COVERAGE),1)
	rm -rf .coverage && mkdir -p .coverage
	HERALD_TEST_TIME_SCALE=4 $(BIN)/coverage run -m pytest -q --ignore=tests/test_crash_safety.py
	$(BIN)/pytest -q tests/test_crash_safety.py
	HERALD_TEST_TIME_SCALE=4 DATABASE_URL=$(PG_URL) $(BIN)/coverage run -m pytest -q $(PG_TRACED)
	$(BIN)/coverage combine -q
	$(BIN)/coverage report --sort=cover
	$(BIN)/coverage json -q -o .coverage/coverage.json
	$(BIN)/python .ci/coverage_gate.py .coverage/coverage.json
else
	$(BIN)/pytest -q
endif

# The suite under branch coverage (subprocesses and spawned workers too; the PostgreSQL-only
# tests on PostgreSQL), a per-module report, and the gate of .ci/coverage_gate.py (docs/quality.md).
# The crash test runs untraced after it: its worker must send 1,000 messages within a step
# timeout, which tracing every line of it makes too slow on a loaded machine.
coverage:
	$(MAKE) test COVERAGE=1

# After changing a message in bot/render: merge the marked strings into every locale/*.po
# (new ones empty, gone ones dropped) and say how many are left to translate.
messages: $(STAMP)
	$(BIN)/python -m bot.render.catalog

lint: $(STAMP)
	$(BIN)/ruff check bot jobs tests bench

typecheck: $(STAMP)
	$(BIN)/mypy --strict bot jobs
	$(BIN)/mypy tests

check: lint typecheck test

bench: $(STAMP)
	command -v nginx >/dev/null || (apt-get update -qq && apt-get install -y -qq nginx-light)
	for b in bench/bench_*.py; do $(BIN)/python -m bench.$$(basename $$b .py) || exit 1; done

# Re-pin every dependency after a change to pyproject.toml (requirements*.lock are committed).
LOCK := $(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links
lock: $(STAMP)
	$(LOCK) --output-file requirements.lock pyproject.toml
	$(LOCK) --extra dev --output-file requirements-dev.lock pyproject.toml

# Mutation testing of the decision code ([tool.mutmut] in pyproject.toml); slow, so not part
# of `make test`. ONLY narrows it to some mutants, e.g. make mutate ONLY='jobs.sources.dedup*'.
# Runs at the lowest priority on one process: the machine is shared. Then the report of
# .ci/mutation_report.py: each module's kill rate against the 90 % floor, and every survivor
# not listed as equivalent in docs/mutation/equivalents.tsv (it fails on either).
mutate: $(STAMP)
	nice -n 19 $(BIN)/mutmut run --max-children $${MUTATE_JOBS:-1} $(ONLY)
	$(BIN)/python .ci/mutation_report.py mutants

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache mutants
