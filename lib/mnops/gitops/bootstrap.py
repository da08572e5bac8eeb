"""argocd/<target>/: what an operator applies once to a cluster that runs Argo CD.

    kubectl apply -f argocd/<target>/

The folder holds the target's AppProjects and its root Application (app-of-apps), the same
objects the compile put into compiled/<target>/manifests/argocd/: once the root app syncs, it
manages itself, the projects and every other Application, so the bootstrap is applied only once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mnops.gitops.plan import DeliveryPlan


class _Dumper(yaml.SafeDumper):
    """Kapitan's style: nested lists indented, multi-line strings as literal blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _str)


def dump_documents(documents: list[dict[str, Any]]) -> str:
    return yaml.dump_all(documents, Dumper=_Dumper, default_flow_style=False, sort_keys=True)


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]


def write_bootstrap(compiled: Path, bootstrap: Path, plan: DeliveryPlan) -> None:
    """Copy the AppProjects and the root Application of one target from its compiled tree."""
    source = compiled / plan.name / "manifests" / "argocd"
    projects = [d for d in _documents(source / "appproject.yaml") if d["kind"] == "AppProject"]
    root = [d for d in _documents(source / "application.yaml") if d["metadata"]["name"] == plan.root.name]
    if len(root) != 1 or not projects:
        raise RuntimeError(f"{source}: expected the AppProjects and the root Application {plan.root.name!r}")
    out = bootstrap / plan.name
    out.mkdir(parents=True, exist_ok=True)
    # Numbered so `kubectl apply -f` creates the projects before the Application that names one.
    (out / "1-appprojects.yaml").write_text(dump_documents(projects))
    (out / "2-root-application.yaml").write_text(dump_documents(root))
