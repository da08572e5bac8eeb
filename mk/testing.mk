# The inner loop (issue 10, item 11): everything that needs no real server and no compile.

# Lint runs beside pytest, its output held back until pytest is done: yamllint alone would keep
# one core busy for seconds while the other waits. Fails if either fails.
.PHONY: test-fast
test-fast: $(VENV_STAMP) ## Inner loop (< 60 s): lint beside pytest without real servers or compiles
	@lint_log="$$(mktemp)"; $(MAKE) --no-print-directory lint >"$$lint_log" 2>&1 & lint=$$!; \
	tests=0; $(PY) -m pytest -q $(PYTEST_WORKERS) -m "not servers and not slow" tests $(PYTEST_ARGS) || tests=$$?; \
	linted=0; wait $$lint || linted=$$?; cat "$$lint_log"; rm -f "$$lint_log"; \
	if [ $$linted -ne 0 ]; then echo "test-fast: make lint failed"; fi; \
	[ $$linted -eq 0 ] && [ $$tests -eq 0 ]
