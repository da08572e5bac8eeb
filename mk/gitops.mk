# GitOps delivery: rendered diffs for PRs and image promotion between environments.

BASE ?= origin/main
DIFF_MARKDOWN ?=

.PHONY: diff
diff: $(VENV_STAMP) ## Compile the working tree and BASE (default origin/main); list changed objects and risky changes
	@$(PY) scripts/diff.py --base $(BASE) $(if $(DIFF_MARKDOWN),--markdown $(DIFF_MARKDOWN))

# The health gate asks Argo CD and Prometheus (ARGOCD_URL, PROMETHEUS_URL, ARGOCD_AUTH_TOKEN in the
# environment) or reads RECORDED=<answers.json>; FORCE=1 REASON="..." overrides it, logged in EVIDENCE.
.PHONY: promote
promote: $(VENV_STAMP) ## Copy SERVICE's image FROM -> TO only if FROM ran it healthily (Argo CD, Rollout analysis, alerts, error budget); recompile, diff
	@test -n "$(SERVICE)" -a -n "$(FROM)" -a -n "$(TO)" || { echo "usage: make promote SERVICE=<name> FROM=<env> TO=<env> [FORCE=1 REASON=...]"; exit 2; }
	@$(PY) scripts/promote.py --service "$(SERVICE)" --from "$(FROM)" --to "$(TO)" $(if $(TAG),--tag "$(TAG)") $(if $(DIGEST),--digest "$(DIGEST)") \
	  $(if $(RECORDED),--recorded "$(RECORDED)") $(if $(EVIDENCE),--evidence "$(EVIDENCE)") $(if $(FORCE),--force --reason "$$REASON") $(PROMOTE_ARGS)
