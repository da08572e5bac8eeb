"""After Kapitan: the bootstrap folders and the deployment guide, written into the compile's
temporary folder so that scripts/compile.py swaps them into place together with compiled/."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mnops.gitops.bootstrap import write_bootstrap
from mnops.gitops.guide import render_guide
from mnops.gitops.plan import delivery_plan
from mnops.kapitan_inventory import compiles_manifests

BOOTSTRAP = "argocd"
GUIDE = Path("docs") / "deployment-guide.md"


def finish_delivery(work: Path, parameters_by_target: Mapping[str, Mapping[str, Any]]) -> None:
    """work/compiled exists; writes work/argocd/<target>/ and work/docs/deployment-guide.md.

    Only cluster targets (those that compiled Kubernetes manifests) get a bootstrap and a place in
    the guide; the `local` target compiles a Docker Compose stack and has no Argo CD.
    """
    clusters = {n: p for n, p in parameters_by_target.items() if compiles_manifests(p)}
    for parameters in clusters.values():
        write_bootstrap(work / "compiled", work / BOOTSTRAP, delivery_plan(parameters))
    guide = work / GUIDE
    guide.parent.mkdir(parents=True, exist_ok=True)
    guide.write_text(render_guide(clusters))
