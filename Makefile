# machine-native-ops GitOps repository.
# Two commands do everything on a fresh machine: `make compile` and `make test`.
# Both create the project-local virtualenv (.venv) from requirements.txt on first use.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
VENV_STAMP  := $(VENV)/.installed-$(shell sha256sum requirements.txt | cut -c1-12)
export PYTHONPATH := $(CURDIR)/lib
# Where CRD schemas live, in kubeconform's catalog layout ({group}/{kind}_{version}.json).
# The default is the public catalog; CI on this machine points at the offline mirror.
CRD_SCHEMA_LOCATION ?= $(if $(wildcard ../shared/crd-schemas),$(abspath ../shared/crd-schemas),https://raw.githubusercontent.com/datreeio/CRDs-catalog/main)
export CRD_SCHEMA_LOCATION

.PHONY: help
help: ## List every target with one line each
	@grep -hE '^[a-zA-Z0-9_.-]+:.*## ' $(MAKEFILE_LIST) | sort -u | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-22s\033[0m %s\n", $$1, $$2}'

$(VENV_STAMP): requirements.txt
	@echo ">> creating $(VENV) from requirements.txt"
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt 2>&1 | grep -v "is ignored: it is neither" || true
	@$(PY) -c "import kapitan, jsonschema, kubernetes_validate, ruamel.yaml" # fail loudly if the install above failed
	@rm -f $(VENV)/.installed-* && touch $@

.PHONY: venv
venv: $(VENV_STAMP) ## Create the project-local virtualenv from pinned requirements

.PHONY: compile
compile: $(VENV_STAMP) ## Validate the inventory; compile every target and regenerate every generated doc (one transaction)
	@$(PY) scripts/compile.py

.PHONY: validate
validate: $(VENV_STAMP) ## Strictly validate every document under compiled/ (Kubernetes + CRD schemas)
	@$(PY) scripts/validate.py compiled $(wildcard argocd)
	@if command -v kubeconform >/dev/null; then scripts/kubeconform.sh compiled; fi

# The linters run side by side (mypy and yamllint are each single-threaded), output kept per step.
LINT_STEPS := lint-ruff lint-mypy lint-yaml

.PHONY: lint $(LINT_STEPS)
lint: $(VENV_STAMP) ## ruff, ruff format --check, mypy on lib/, yamllint on inventory/ and compiled/
	@$(MAKE) --no-print-directory -j3 --output-sync=target $(LINT_STEPS)

lint-ruff:
	@$(VENV)/bin/ruff check lib components scripts tests
	@$(VENV)/bin/ruff format --check lib components scripts tests

lint-mypy:
	@$(VENV)/bin/mypy lib

lint-yaml:
	@$(VENV)/bin/yamllint -s $(wildcard inventory compiled argocd .github)

# Real servers and tools the tests run, from Debian's packages (installed only if missing).
TEST_DEBS := promtool=prometheus amtool=prometheus-alertmanager prometheus-alertmanager=prometheus-alertmanager \
             /usr/lib/postgresql/15/bin/initdb=postgresql redis-server=redis-server

.PHONY: test-tools
test-tools: ## Install the Debian packages the tests need (promtool, amtool, PostgreSQL 15, Redis)
	@scripts/ensure-debs $(TEST_DEBS)

# pytest on two workers; tests that share an expensive fixture (a compiled copy of the repository,
# the chart renders, a drill) carry an xdist_group and run on one worker, so it is built once.
PYTEST_WORKERS := -n 2 --dist loadgroup
# make test runs a third worker on the two cores: the restore drill waits about a minute for real
# WAL archiving (archive_timeout) and Prometheus/Alertmanager tests wait for evaluations, and with two
# workers a core sat idle meanwhile (drill + CPU-bound tests: 104 s on two workers, 69 s on three).
TEST_WORKERS := -n 3 --dist loadgroup

.PHONY: test
test: $(VENV_STAMP) test-tools ## Everything CI runs: lint, compile drift gate, validation, pytest
	@# ruff and mypy read no compiled output: they run beside the compile, which leaves a core idle
	@# for part of its run (cold, in a fresh clone: ~43 s wall for ~63 s CPU).
	@$(MAKE) --no-print-directory -j3 --output-sync=target check lint-ruff lint-mypy
	@# Both only read what the compile wrote: side by side, one core each.
	@$(MAKE) --no-print-directory -j2 --output-sync=target lint-yaml validate
	@# make check has just compiled the inventory here and found it committed: pytest's compiled tree is a
	@# copy; make lint has just linted it (tests/test_compile_output.py skips its own yamllint of it).
	@MNOPS_COMPILED_BY_CHECK="$(CURDIR)" MNOPS_LINTED_BY_MAKE_TEST="$(CURDIR)" $(PY) -m pytest -q $(TEST_WORKERS) tests $(PYTEST_ARGS)

.PHONY: check
check: compile ## Compile and fail if any generated file (compiled/, argocd/, generated docs) differs from what is committed
	@stale="$$(git status --porcelain -- $$($(PY) scripts/compile.py --list-generated))"; \
	if [ -n "$$stale" ]; then \
	  echo "drift: these generated files are not what the inventory produces. Run 'make compile' and commit them:"; \
	  echo "$$stale" | head -40; exit 1; fi
	@echo "compiled/, argocd/ and the generated docs are up to date"

.PHONY: bench
bench: $(VENV_STAMP) ## Benchmark compile, validation and make diff; writes docs/performance.md (BENCH_ARGS=--diff-only: diff cases only)
	@$(PY) scripts/bench $(BENCH_ARGS)

.PHONY: clean
clean: ## Remove the virtualenv and caches (compiled/ is kept: it is committed)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Each concern adds its own targets in mk/<concern>.mk.
-include mk/*.mk
