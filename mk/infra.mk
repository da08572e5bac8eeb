# Cloud infrastructure (docs/infrastructure.md): the management cluster's Crossplane tree and its docs.

.PHONY: infra-docs
infra-docs: $(VENV_STAMP) ## Regenerate docs/infrastructure.md (per-cluster network, capacity, buckets, cost) from the inventory
	@$(PY) scripts/infra_docs.py --write docs/infrastructure.md

.PHONY: test-infra
test-infra: $(VENV_STAMP) ## Infrastructure tests: CRD schemas + CEL rules, protection, identities, address plan
	@$(PY) -m pytest -q -p no:xdist tests/test_infra_*.py

# checkov lives in its own virtualenv: its pins (packaging 23.2, boto3, ...) must not reach .venv.
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell sha256sum requirements-checkov.txt | cut -c1-12)

$(CHECKOV_STAMP): requirements-checkov.txt
	@echo ">> creating $(CHECKOV_VENV) from requirements-checkov.txt"
	@test -x $(CHECKOV_VENV)/bin/python || python3 -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt 2>&1 | grep -v "is ignored: it is neither" || true
	@$(CHECKOV_VENV)/bin/checkov --version >/dev/null
	@rm -f $(CHECKOV_VENV)/.installed-* && touch $@

.PHONY: infra-tools
infra-tools: $(CHECKOV_STAMP) ## Install checkov (pinned, requirements-checkov.txt) into its own virtualenv

.PHONY: infra-scan
infra-scan: $(CHECKOV_STAMP) ## Scan the management cluster's OpenTofu bootstrap offline with checkov (skips justified in scripts/checkov-bootstrap.yaml)
	@BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov --config-file scripts/checkov-bootstrap.yaml $(addprefix -f ,$(wildcard compiled/*/bootstrap/main.tf.json))

# The bootstrap test runs checkov: make test installs it first, like the Debian test tools.
test: infra-tools
