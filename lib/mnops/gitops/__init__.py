"""GitOps delivery: the typed view of the `argocd`, `charts` and `apps` inventory sections and the
plan of Argo CD Applications and AppProjects that the argocd component, the bootstrap writer, the
deployment guide and the structure tests all read from."""
