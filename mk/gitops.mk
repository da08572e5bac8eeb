# GitOps delivery: rendered diffs for PRs and image promotion between environments.

BASE ?= origin/main
DIFF_MARKDOWN ?=
DIFF_LABELS ?=
DIFF_REVIEWERS ?=
DIFF_ARGS ?=

.PHONY: diff
diff: $(VENV_STAMP) ## Compile the working tree and BASE (cached); changed objects, review sections, risks, reviewers
	@$(PY) scripts/diff.py --base $(BASE) $(if $(DIFF_MARKDOWN),--markdown $(DIFF_MARKDOWN)) \
	  $(if $(DIFF_LABELS),--labels $(DIFF_LABELS)) $(if $(DIFF_REVIEWERS),--reviewers $(DIFF_REVIEWERS)) $(DIFF_ARGS)

# The health gate asks Argo CD and Prometheus (ARGOCD_URL, PROMETHEUS_URL, ARGOCD_AUTH_TOKEN in the
# environment) or reads RECORDED=<answers.json>; FORCE=1 REASON="..." overrides it, logged in EVIDENCE.
.PHONY: promote
promote: $(VENV_STAMP) ## Copy SERVICE's image FROM -> TO only if FROM ran it healthily (Argo CD, Rollout analysis, alerts, error budget); recompile, diff
	@test -n "$(SERVICE)" -a -n "$(FROM)" -a -n "$(TO)" || { echo "usage: make promote SERVICE=<name> FROM=<env> TO=<env> [FORCE=1 REASON=...]"; exit 2; }
	@$(PY) scripts/promote.py --service "$(SERVICE)" --from "$(FROM)" --to "$(TO)" $(if $(TAG),--tag "$(TAG)") $(if $(DIGEST),--digest "$(DIGEST)") \
	  $(if $(RECORDED),--recorded "$(RECORDED)") $(if $(EVIDENCE),--evidence "$(EVIDENCE)") $(if $(FORCE),--force --reason "$${REASON:-}") $(PROMOTE_ARGS)
