# The inner loop (issue 10, item 11): everything that needs no real server and no full compile.

.PHONY: test-fast
test-fast: $(VENV_STAMP) ## Inner loop (< 60 s): lint, then pytest without real servers or whole-inventory compiles
	@$(MAKE) --no-print-directory lint
	@$(PY) -m pytest -q $(PYTEST_WORKERS) -m "not servers and not slow" tests $(PYTEST_ARGS)
