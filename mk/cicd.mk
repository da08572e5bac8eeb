# CI/CD, container and local stack targets (docs/ci-cd.md). Included by the Makefile.

# Every shell script we own: by extension or by shebang, under scripts/ and .ci/.
CICD_SHELL_SCRIPTS = $(shell find scripts .ci -type f \( -name '*.sh' -o -perm -u+x \) -exec grep -lE '^\#!(/usr/bin/env |/bin/)(ba)?sh' {} + 2>/dev/null | sort)
COMPOSE_FILE := compiled/local/compose/compose.yaml

.PHONY: lint-ci
lint-ci: $(VENV_STAMP) ## shellcheck, hadolint, actionlint and schema checks of workflows, Renovate and Compose files
	@$(VENV)/bin/shellcheck $(CICD_SHELL_SCRIPTS)
	@$(VENV)/bin/yamllint -s .github
	@$(VENV)/bin/hadolint docker/Dockerfile
	@# actionlint runs shellcheck on every `run:` block when it finds it on PATH.
	@PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/actionlint
	@$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	@$(VENV)/bin/check-jsonschema --builtin-schema vendor.renovate renovate.json
	@$(VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec $(COMPOSE_FILE)
	@$(PY) scripts/ci_map.py --check
	@echo "lint-ci: shell, Dockerfile, workflows, Renovate, Compose and the seed-step table are clean"

.PHONY: ci-map
ci-map: $(VENV_STAMP) ## Regenerate the seed CI/CD step table in docs/ci-cd.md from .github/workflows
	@$(PY) scripts/ci_map.py

# Without the Compose v2 plugin `docker compose -f` fails with "unknown shorthand flag: 'f'": say what is missing.
.PHONY: compose-tool
compose-tool:
	@docker compose version >/dev/null 2>&1 || { echo "compose: needs Docker with the Compose v2 plugin ('docker compose version' fails here)"; exit 1; }

.PHONY: compose-up
compose-up: compose-tool ## Start the local stack (compiled/local/compose; needs Docker with Compose v2)
	docker compose -f $(COMPOSE_FILE) up -d --wait

.PHONY: compose-down
compose-down: compose-tool ## Stop the local stack and delete its volumes
	docker compose -f $(COMPOSE_FILE) down --volumes
