# Third-party Helm charts (issue 12): Helm itself, the chart lock, rendering and checks.

TOOLS       := .tools
HELM        := $(TOOLS)/helm/helm
HELM_STAMP  := $(TOOLS)/.installed-$(shell sha256sum tools/helm-layer.sha256 | cut -c1-12)
export HELM := $(CURDIR)/$(HELM)
# A Helm repository folder (index.yaml + .tgz) to fetch charts from instead of their repositories.
# On this machine the offline mirror beside the repository, as for CRD_SCHEMA_LOCATION.
CHART_MIRROR ?= $(if $(wildcard ../shared/charts/index.yaml),$(abspath ../shared/charts))
export CHART_MIRROR
# Chart packages, their values trees and renders, keyed by content: shared by every compile make starts.
CHART_CACHE ?= $(CURDIR)/.cache
export CHART_CACHE

$(HELM_STAMP): tools/helm-layer.sha256 scripts/install-helm
	@scripts/install-helm $(TOOLS)
	@rm -f $(TOOLS)/.installed-* && touch $@

.PHONY: helm
helm: $(HELM_STAMP) ## Install Helm 4.1.4 and kubectl 1.33 into .tools/ (sha256-verified; first use only)

# Everything that renders charts needs Helm; make installs it on first use like the virtualenv.
compile test bench diff: $(HELM_STAMP)

.PHONY: chart-lock
chart-lock: $(VENV_STAMP) $(HELM_STAMP) ## Regenerate charts.lock (version, repository, sha256) from the chart catalog
	@$(PY) scripts/charts.py lock

.PHONY: charts
charts: $(VENV_STAMP) $(HELM_STAMP) ## Verify the lock, render every chart for every cluster and check the output
	@$(PY) scripts/charts.py check
