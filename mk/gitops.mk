# GitOps delivery: rendered diffs for PRs and image promotion between environments.

BASE ?= origin/main
DIFF_MARKDOWN ?=

.PHONY: diff
diff: $(VENV_STAMP) ## Compile the working tree and BASE (default origin/main); list changed objects and risky changes
	@$(PY) scripts/diff.py --base $(BASE) $(if $(DIFF_MARKDOWN),--markdown $(DIFF_MARKDOWN))

.PHONY: promote
promote: $(VENV_STAMP) ## Copy SERVICE's image from env FROM to env TO (optional TAG=/DIGEST= guard), recompile, show the diff
	@test -n "$(SERVICE)" -a -n "$(FROM)" -a -n "$(TO)" || { echo "usage: make promote SERVICE=<name> FROM=<env> TO=<env>"; exit 2; }
	@$(PY) scripts/promote.py --service $(SERVICE) --from $(FROM) --to $(TO) $(if $(TAG),--tag $(TAG)) $(if $(DIGEST),--digest $(DIGEST))

.PHONY: validate-argocd
validate-argocd: $(VENV_STAMP) ## Strictly validate the argocd/<target>/ bootstrap (AppProjects, root Application) against the CRD schemas
	@$(PY) scripts/validate.py argocd
