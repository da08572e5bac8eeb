# Cloud infrastructure (docs/infrastructure.md): the management cluster's Crossplane tree and its docs.

.PHONY: infra-docs
infra-docs: $(VENV_STAMP) ## Regenerate docs/infrastructure.md (per-cluster network, capacity, buckets, cost) from the inventory
	@$(PY) scripts/infra_docs.py --write docs/infrastructure.md

.PHONY: test-infra
test-infra: $(VENV_STAMP) ## Infrastructure tests: CRD schemas + CEL rules, protection, identities, address plan
	@$(PY) -m pytest -q -p no:xdist tests/test_infra_*.py
