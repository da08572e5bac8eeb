# Observability signals: dashboards, logs, traces and their coverage (scripts/coverage.py).

.PHONY: coverage
coverage: $(VENV_STAMP) ## Observability coverage per target and service from compiled/; fails below 100%
	@$(PY) scripts/coverage.py --write-docs
