# Metrics and alerting (components/monitoring, lib/mnops/observability). Included by the Makefile.

TARGET ?= dev
OBSERVABILITY_DEBS := promtool=prometheus amtool=prometheus-alertmanager

.PHONY: runbooks
# The runbooks are entries of the compile's registry (lib/mnops/generated.py): one generator, one transaction.
runbooks: compile ## Regenerate docs/runbooks/ and docs/incident-response.md (with everything else make compile generates)

.PHONY: monitoring-preview
monitoring-preview: $(VENV_STAMP) ## Run real Prometheus + Alertmanager on 127.0.0.1 with compiled/<TARGET> rules and routes (TARGET=dev; Ctrl-C stops)
	@scripts/ensure-debs $(OBSERVABILITY_DEBS)
	@$(PY) scripts/monitoring_preview.py --target $(TARGET) $(PREVIEW_ARGS)

.PHONY: test-monitoring
test-monitoring: $(VENV_STAMP) ## promtool/amtool checks, generated rule unit tests, routing tests and the preview end-to-end test
	@scripts/ensure-debs $(OBSERVABILITY_DEBS)
	@$(PY) -m pytest -q $(PYTEST_WORKERS) tests/test_observability_*.py

.PHONY: alert-latency
alert-latency: $(VENV_STAMP) ## Measure P0/P1 alert latency end to end (real Prometheus + Alertmanager, ~10 min); writes docs/observability.md
	@scripts/ensure-debs $(OBSERVABILITY_DEBS) prometheus=prometheus prometheus-alertmanager=prometheus-alertmanager
	@$(PY) scripts/alert_latency.py --target $(or $(LATENCY_TARGET),prod)

.PHONY: burn-detection
burn-detection: $(VENV_STAMP) ## Measure with promtool how fast SLO burn alerts fire at 1x-1000x; writes docs/observability.md
	@scripts/ensure-debs $(OBSERVABILITY_DEBS)
	@$(PY) scripts/burn_detection.py --target $(or $(LATENCY_TARGET),prod)
