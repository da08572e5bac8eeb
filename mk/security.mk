# Security hardening and the API gateway (docs/security.md).

.PHONY: secret-scan
secret-scan: $(VENV_STAMP) ## Scan every tracked and new file for plaintext credentials (fails on any finding)
	@$(PY) scripts/secret-scan

.PHONY: test-security
test-security: $(VENV_STAMP) ## Security policy suite, admission rules, secret scan and security inventory tests
	@$(PY) -m pytest -q tests/test_security_*.py
